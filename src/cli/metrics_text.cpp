#include "cli/metrics_text.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>

#include <spdlog/fmt/fmt.h>

namespace credvault::cli {
namespace {

bool IsNameStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':'; }
bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9'); }

std::string EscapeLabelValue(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string EscapeHelp(const std::string& help) {
  std::string out;
  for (char c : help) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", value);
}

// Reads a metric name at `pos`; "" if there is none.
std::string ReadName(const std::string& line, std::size_t& pos) {
  const std::size_t start = pos;
  if (pos >= line.size() || !IsNameStart(line[pos])) return "";
  while (pos < line.size() && IsNameChar(line[pos])) ++pos;
  return line.substr(start, pos - start);
}

// Reads `{name="value",...}` at `pos` (which is at '{'); false if malformed.
bool ReadLabels(const std::string& line, std::size_t& pos, MetricLabels& labels) {
  ++pos;  // '{'
  while (pos < line.size() && line[pos] != '}') {
    std::string name = ReadName(line, pos);
    if (name.empty() || name.find(':') != std::string::npos) return false;
    if (pos + 1 >= line.size() || line[pos] != '=' || line[pos + 1] != '"') return false;
    pos += 2;
    std::string value;
    for (;; ++pos) {
      if (pos >= line.size()) return false;
      const char c = line[pos];
      if (c == '"') break;
      if (c != '\\') {
        value += c;
        continue;
      }
      if (++pos >= line.size()) return false;
      if (line[pos] == '\\') value += '\\';
      else if (line[pos] == '"') value += '"';
      else if (line[pos] == 'n') value += '\n';
      else return false;
    }
    ++pos;  // closing quote
    labels.emplace_back(std::move(name), std::move(value));
    if (pos < line.size() && line[pos] == ',') ++pos;
    else if (pos >= line.size() || line[pos] != '}') return false;
  }
  if (pos >= line.size()) return false;
  ++pos;  // '}'
  return true;
}

bool ParseValue(const std::string& text, double& value) {
  if (text == "NaN") value = NAN;
  else if (text == "+Inf") value = INFINITY;
  else if (text == "-Inf") value = -INFINITY;
  else {
    if (text.empty()) return false;
    char* end = nullptr;
    errno = 0;
    value = std::strtod(text.c_str(), &end);
    if (end != text.c_str() + text.size() || errno == ERANGE) return false;
  }
  return true;
}

}  // namespace

std::string RenderLabels(const MetricLabels& labels) {
  if (labels.empty()) return "";
  std::string out = "{";
  for (std::size_t i = 0; i < labels.size(); ++i) {
    out += (i ? "," : "") + labels[i].first + "=\"" + EscapeLabelValue(labels[i].second) + "\"";
  }
  return out + "}";
}

std::string LabelValue(const std::string& label_block, const std::string& name) {
  if (label_block.empty()) return "";
  MetricLabels labels;
  std::size_t pos = 0;
  if (!ReadLabels(label_block, pos, labels)) return "";
  for (const auto& [label, value] : labels) {
    if (label == name) return value;
  }
  return "";
}

std::string RenderMetrics(const MetricSet& metrics) {
  std::string out;
  for (const auto& [name, family] : metrics) {
    if (family.samples.empty()) continue;
    out += "# HELP " + name + " " + EscapeHelp(family.help) + "\n";
    out += "# TYPE " + name + " " + family.type + "\n";
    for (const auto& [labels, value] : family.samples) out += name + labels + " " + FormatValue(value) + "\n";
  }
  return out;
}

StatusOr<MetricSet> ParseMetrics(const std::string& text) {
  MetricSet out;
  std::istringstream lines(text);
  std::string line;
  std::string current;  // the family of the last TYPE line
  for (int number = 1; std::getline(lines, line); ++number) {
    auto bad = [&](const std::string& why) {
      return InvalidArgumentError("line " + std::to_string(number) + ": " + why);
    };
    if (line.empty()) continue;
    if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) {
      std::size_t pos = 7;
      std::string name = ReadName(line, pos);
      if (name.empty() || pos >= line.size() || line[pos] != ' ') return bad("no metric name");
      std::string rest = line.substr(pos + 1);
      if (line[2] == 'T') {
        if (rest != "counter" && rest != "gauge") return bad("a type other than counter or gauge");
        out[name].type = rest;
        current = name;
      } else {
        std::string help;
        for (std::size_t i = 0; i < rest.size(); ++i) {
          if (rest[i] == '\\' && i + 1 < rest.size() && (rest[i + 1] == '\\' || rest[i + 1] == 'n')) {
            help += rest[i + 1] == 'n' ? '\n' : '\\';
            ++i;
          } else {
            help += rest[i];
          }
        }
        out[name].help = help;
      }
      continue;
    }
    if (line[0] == '#') continue;  // a comment
    std::size_t pos = 0;
    std::string name = ReadName(line, pos);
    if (name.empty()) return bad("no metric name");
    if (name != current) return bad("a sample outside its family (no TYPE line just before)");
    MetricLabels labels;
    if (pos < line.size() && line[pos] == '{' && !ReadLabels(line, pos, labels)) return bad("malformed labels");
    if (pos >= line.size() || line[pos] != ' ') return bad("no value");
    double value = 0;
    if (!ParseValue(line.substr(pos + 1), value)) return bad("value is not a number");
    out[name].samples[RenderLabels(labels)] = value;
  }
  return out;
}

Status WriteFileAtomically(const std::string& path, const std::string& text) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  const fs::path folder = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::string temp = (folder / ("." + target.filename().string() + ".XXXXXX")).string();
  const int fd = mkstemp(temp.data());
  if (fd < 0) return PermissionDeniedError("cannot write the metrics file " + path + ": " + std::strerror(errno));
  auto fail = [&](const char* doing) {
    const int error = errno;
    close(fd);
    unlink(temp.c_str());
    return PermissionDeniedError("cannot " + std::string(doing) + " the metrics file " + path + ": " +
                                 std::strerror(error));
  };
  if (fchmod(fd, 0644) != 0) return fail("set the mode of");
  std::size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail("write");
    written += static_cast<std::size_t>(n);
  }
  if (fsync(fd) != 0) return fail("flush");
  if (close(fd) != 0) {
    unlink(temp.c_str());
    return PermissionDeniedError("cannot close the metrics file " + path + ": " + std::strerror(errno));
  }
  if (rename(temp.c_str(), path.c_str()) != 0) {
    const int error = errno;
    unlink(temp.c_str());
    return PermissionDeniedError("cannot replace the metrics file " + path + ": " + std::strerror(error));
  }
  return Status::Ok();
}

}  // namespace credvault::cli
