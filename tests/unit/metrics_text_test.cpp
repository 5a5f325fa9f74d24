// The Prometheus text credvault writes and reads back (cli/metrics_text).
#include <catch2/catch.hpp>
#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <vector>

#include "cli/metrics_text.hpp"
#include "support/test_support.hpp"

using namespace credvault;
using namespace credvault::cli;

TEST_CASE("metrics text: render then parse gives the same families, labels escaped", "[metrics]") {
  MetricSet set;
  set["credvault_values"] = {"Values per kid\nand column \\ here", "gauge", {}};
  set["credvault_values"].samples[RenderLabels({{"kid", "ab\"cd"}, {"column", "x\\y\nz"}})] = 3;
  set["credvault_runs_total"] = {"Runs", "counter", {}};
  set["credvault_runs_total"].samples[""] = 1e20;
  set["credvault_seconds"] = {"Seconds", "gauge", {}};
  set["credvault_seconds"].samples[RenderLabels({{"command", "rotate"}})] = 0.125;
  const std::string text = RenderMetrics(set);
  CHECK(text.find("credvault_values{kid=\"ab\\\"cd\",column=\"x\\\\y\\nz\"} 3\n") != std::string::npos);
  CHECK(text.find("# HELP credvault_values Values per kid\\nand column \\\\ here\n") != std::string::npos);
  CHECK(text.find("# TYPE credvault_runs_total counter\ncredvault_runs_total 1e+20\n") != std::string::npos);
  auto parsed = ParseMetrics(text);
  REQUIRE(parsed.ok());
  CHECK(parsed->size() == 3);
  CHECK(parsed->at("credvault_values").help == set["credvault_values"].help);
  CHECK(parsed->at("credvault_values").samples == set["credvault_values"].samples);
  CHECK(parsed->at("credvault_runs_total").samples.at("") == 1e20);
  CHECK(parsed->at("credvault_seconds").samples.at("{command=\"rotate\"}") == 0.125);
  CHECK(LabelValue("{kid=\"ab\\\"cd\",command=\"rotate\"}", "command") == "rotate");
  CHECK(LabelValue("{kid=\"ab\\\"cd\",command=\"rotate\"}", "kid") == "ab\"cd");
  CHECK(LabelValue("", "command").empty());
}

TEST_CASE("metrics text: what credvault did not write is refused, naming the line", "[metrics]") {
  const std::string head = "# TYPE credvault_x gauge\n";
  for (const std::string& bad : std::vector<std::string>{"credvault_x 1\n",                // sample before TYPE
                                head + "credvault_x{a=\"1\" 1\n",              // unclosed labels
                                head + "credvault_x{a=1} 1\n",                 // unquoted value
                                head + "credvault_x{a=\"\\t\"} 1\n",           // unknown escape
                                head + "credvault_x one\n",                    // not a number
                                head + "credvault_x\n",                        // no value
                                "# TYPE credvault_x histogram\n",              // a type credvault never writes
                                head + "credvault_y 1\n"}) {                   // outside its family
    auto parsed = ParseMetrics(bad);
    INFO(bad);
    CHECK_FALSE(parsed.ok());
    if (!parsed.ok()) CHECK(parsed.status().message().find("line ") != std::string::npos);
  }
}

TEST_CASE("metrics text: the atomic write replaces the file whole, mode 0644, no temporary left", "[metrics]") {
  testing::TempDir dir;
  const std::string path = dir.path() + "/credvault.prom";
  REQUIRE(WriteFileAtomically(path, "first\n").ok());
  REQUIRE(WriteFileAtomically(path, "second\n").ok());
  CHECK(testing::ReadFile(path) == "second\n");
  struct stat info {};
  REQUIRE(stat(path.c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0644);
  auto missing = WriteFileAtomically(dir.path() + "/no/such/folder/x.prom", "x\n");
  CHECK_FALSE(missing.ok());
  CHECK(missing.message().find("no/such/folder/x.prom") != std::string::npos);
  // Only the file itself is in the folder: no temporary stayed behind.
  int entries = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    CHECK(entry.path().filename() == "credvault.prom");
    ++entries;
  }
  CHECK(entries == 1);
}
