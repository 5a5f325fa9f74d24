// Prometheus text exposition format (version 0.0.4), as credvault writes it
// for node_exporter's textfile collector: a set of metric families, each with
// HELP, TYPE and its samples; rendering, reading back a file credvault wrote
// (to merge into it), and the atomic write (temporary file + rename).
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "credvault/status.hpp"

namespace credvault::cli {

// Label name → value, in the order given (rendered in that order).
using MetricLabels = std::vector<std::pair<std::string, std::string>>;

struct MetricFamily {
  std::string help;
  std::string type;  // "counter" or "gauge"
  // Rendered label block ("{command=\"rotate\"}", or "" without labels) → value.
  std::map<std::string, double> samples;
};

// Family name → family; rendered in name order.
using MetricSet = std::map<std::string, MetricFamily>;

// `{a="x",b="y"}` with values escaped (\\, \" and \n), or "" for no labels.
std::string RenderLabels(const MetricLabels& labels);

// The value of `name` in a label block RenderLabels made; "" when absent.
std::string LabelValue(const std::string& label_block, const std::string& name);

// The whole file: per family "# HELP", "# TYPE", then its samples; ends in a newline.
std::string RenderMetrics(const MetricSet& metrics);

// Reads a file RenderMetrics wrote. Anything else — a sample before its
// TYPE, an unknown type, a malformed line — is kInvalidArgument naming the
// line by its number only: the message never quotes the text (a path given by
// mistake may be a key file).
StatusOr<MetricSet> ParseMetrics(const std::string& text);

// Writes `text` to a temporary file in the folder of `path` (mode 0644),
// fsyncs it and renames it over `path`: a reader sees the old file or the new
// one, never half of one.
Status WriteFileAtomically(const std::string& path, const std::string& text);

}  // namespace credvault::cli
