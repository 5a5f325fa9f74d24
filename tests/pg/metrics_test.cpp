// --metrics-file against a real PostgreSQL: the file is valid Prometheus text
// exposition format (checked by a strict parser written here, independent of
// the one credvault uses to merge), its counters only rise, the old kid's
// gauge reaches 0 after a rotation, and nothing in it is a secret.
#include <catch2/catch.hpp>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "jobs_fixture.hpp"
#include "support/test_support.hpp"

using namespace credvault;
using namespace credvault::testing;

namespace {

// One file, strictly per the text exposition format 0.0.4 and Prometheus'
// naming conventions: names and label names by their grammar, HELP and TYPE
// at most once per family and before its samples, a family's samples
// together, no series twice, no label twice, Go-parsable values, counters
// named *_total and never negative, nothing else named *_total, every name
// prefixed credvault_, the file ending in a newline.
struct Exposition {
  std::map<std::string, std::string> types;   // family → counter | gauge
  std::map<std::string, double> series;       // name{sorted labels} → value
  std::string error;                          // "" when the file is valid
};

// name{a="x",b="y"} with labels sorted: one key per series.
std::string SeriesKey(const std::string& name, std::map<std::string, std::string> labels) {
  std::string key = name + "{";
  for (const auto& [label, value] : labels) key += label + "=\"" + value + "\",";
  return key + "}";
}

Exposition ParseStrict(const std::string& text) {
  static const std::regex kName("[a-zA-Z_:][a-zA-Z0-9_:]*");
  static const std::regex kLabelName("[a-zA-Z_][a-zA-Z0-9_]*");
  static const std::regex kValue("[-+]?(([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([eE][-+]?[0-9]+)?|Inf|NaN)");
  Exposition out;
  if (text.empty() || text.back() != '\n') {
    out.error = "does not end in a newline";
    return out;
  }
  std::set<std::string> helped, finished;
  std::string current;
  std::istringstream lines(text);
  std::string line;
  for (int number = 1; std::getline(lines, line); ++number) {
    auto fail = [&](const std::string& why) {
      out.error = "line " + std::to_string(number) + ": " + why + ": " + line;
      return out;
    };
    auto enter = [&](const std::string& name) -> bool {  // false: the family appeared before
      if (name == current) return true;
      if (!current.empty()) finished.insert(current);
      current = name;
      return finished.count(name) == 0;
    };
    if (line.empty()) return fail("empty line");
    if (line[0] == '#') {
      std::istringstream words(line.substr(1));
      std::string keyword, name;
      words >> keyword >> name;
      if (keyword != "HELP" && keyword != "TYPE") continue;  // a comment
      if (!std::regex_match(name, kName)) return fail("bad metric name");
      if (name.rfind("credvault_", 0) != 0) return fail("no credvault_ prefix");
      if (!enter(name)) return fail("family split");
      if (keyword == "HELP") {
        if (!helped.insert(name).second) return fail("second HELP");
        continue;
      }
      std::string type, extra;
      words >> type >> extra;
      if (!extra.empty() || (type != "counter" && type != "gauge")) return fail("bad type");
      if (out.types.count(name)) return fail("second TYPE");
      for (const auto& [key, value] : out.series) {
        if (key.compare(0, name.size() + 1, name + "{") == 0) return fail("TYPE after a sample");
      }
      const bool total = name.size() > 6 && name.compare(name.size() - 6, 6, "_total") == 0;
      if ((type == "counter") != total) return fail("only counters end in _total");
      out.types[name] = type;
      continue;
    }
    std::size_t pos = 0;
    while (pos < line.size() && line[pos] != '{' && line[pos] != ' ') ++pos;
    const std::string name = line.substr(0, pos);
    if (!std::regex_match(name, kName)) return fail("bad metric name");
    if (!out.types.count(name)) return fail("sample without TYPE");
    if (!enter(name)) return fail("family split");
    std::map<std::string, std::string> labels;
    if (pos < line.size() && line[pos] == '{') {
      ++pos;
      while (pos < line.size() && line[pos] != '}') {
        const std::size_t eq = line.find('=', pos);
        if (eq == std::string::npos) return fail("label without =");
        const std::string label = line.substr(pos, eq - pos);
        if (!std::regex_match(label, kLabelName) || label.rfind("__", 0) == 0) return fail("bad label name");
        if (eq + 1 >= line.size() || line[eq + 1] != '"') return fail("label value not quoted");
        std::string value;
        pos = eq + 2;
        for (; pos < line.size() && line[pos] != '"'; ++pos) {
          if (line[pos] == '\\') {
            ++pos;
            if (pos >= line.size() || (line[pos] != '\\' && line[pos] != '"' && line[pos] != 'n')) {
              return fail("bad escape");
            }
          }
          value += line[pos];
        }
        if (pos >= line.size()) return fail("unterminated label value");
        ++pos;
        if (!labels.emplace(label, value).second) return fail("label twice");
        if (pos < line.size() && line[pos] == ',') ++pos;
      }
      if (pos >= line.size()) return fail("unterminated labels");
      ++pos;
    }
    if (pos >= line.size() || line[pos] != ' ') return fail("no value");
    std::istringstream rest(line.substr(pos + 1));
    std::string value, timestamp, extra;
    rest >> value >> timestamp >> extra;
    if (!std::regex_match(value, kValue) || !extra.empty()) return fail("bad value");
    if (!timestamp.empty() && !std::regex_match(timestamp, std::regex("-?[0-9]+"))) return fail("bad timestamp");
    const double parsed = value == "NaN" ? NAN : std::strtod(value.c_str(), nullptr);
    if (out.types[name] == "counter" && !(parsed >= 0)) return fail("negative or NaN counter");
    if (!out.series.emplace(SeriesKey(name, labels), parsed).second) return fail("series twice");
  }
  return out;
}

double Value(const Exposition& file, const std::string& name, const std::map<std::string, std::string>& labels) {
  auto found = file.series.find(SeriesKey(name, labels));
  if (found == file.series.end()) FAIL("no series " << SeriesKey(name, labels));
  return found->second;
}

// Every counter of `before` is in `after`, not lower.
void ExpectCountersRose(const Exposition& before, const Exposition& after) {
  for (const auto& [key, value] : before.series) {
    const std::string name = key.substr(0, key.find('{'));
    if (before.types.at(name) != "counter") continue;
    INFO(key);
    REQUIRE(after.series.count(key));
    CHECK(after.series.at(key) >= value);
  }
}

Exposition ReadMetrics(const std::string& path) {
  Exposition parsed = ParseStrict(ReadFile(path));
  INFO(ReadFile(path));
  REQUIRE(parsed.error.empty());
  return parsed;
}

}  // namespace

TEST_CASE("the strict exposition parser refuses what Prometheus refuses", "[metrics]") {
  const std::string ok = "# HELP credvault_x_total X\n# TYPE credvault_x_total counter\ncredvault_x_total{a=\"1\"} 2\n";
  REQUIRE(ParseStrict(ok).error.empty());
  CHECK(ParseStrict(ok).series.at("credvault_x_total{a=\"1\",}") == 2);
  for (const std::string& bad : std::vector<std::string>{
           ok.substr(0, ok.size() - 1),                                              // no final newline
           ok + "credvault_x_total{a=\"1\"} 3\n",                                    // series twice
           ok + "# TYPE credvault_y gauge\ncredvault_y 1\ncredvault_x_total{a=\"2\"} 1\n",  // family split
           "# TYPE credvault_x gauge\ncredvault_x 1 2 3\n",                           // trailing junk
           "# TYPE credvault_x_total gauge\ncredvault_x_total 1\n",                   // a gauge named _total
           "# TYPE credvault_x counter\ncredvault_x 1\n",                             // a counter without _total
           "# TYPE credvault_x_total counter\ncredvault_x_total -1\n",                // a negative counter
           "# TYPE credvault_x gauge\ncredvault_x{a=\"1\",a=\"2\"} 1\n",              // label twice
           "# TYPE credvault_x gauge\ncredvault_x{__a=\"1\"} 1\n",                    // reserved label name
           "# TYPE credvault_x gauge\ncredvault_x{a=\"\\t\"} 1\n",                    // bad escape
           "# TYPE credvault_x gauge\ncredvault_x 1,5\n",                             // not a Go float
           "credvault_x 1\n",                                                         // no TYPE
           "# TYPE x gauge\nx 1\n",                                                   // no credvault_ prefix
           "# TYPE credvault_x gauge\n\ncredvault_x 1\n"}) {                          // empty line
    INFO(bad);
    CHECK_FALSE(ParseStrict(bad).error.empty());
  }
}

TEST_CASE("metrics file during a rotation - valid, counters rise, the old kid reaches 0, no secret", "[metrics]") {
  TestDatabase db;
  Populate(db, 10000);
  const std::string a = NewBase64Key(), b = NewBase64Key();
  const std::string kid_a = Ring(a).primary_kid(), kid_b = Ring(b).primary_kid();
  TempDir dir;
  const std::string path = dir.path() + "/credvault.prom";

  REQUIRE(RunCli({"encrypt", "--metrics-file", path}, KeyEnv(db, a)).exit_code == 0);
  const Exposition encrypted = ReadMetrics(path);
  CHECK(Value(encrypted, "credvault_command_exit_code", {{"command", "encrypt"}}) == 0);
  CHECK(Value(encrypted, "credvault_values", {{"kid", kid_a}, {"column", "client_id"}}) == 10000);
  CHECK(Value(encrypted, "credvault_plaintext_values", {{"column", "client_id"}}) == 0);
  CHECK(Value(encrypted, "credvault_job_values_written_total", {{"command", "encrypt"}, {"column", "client_id"}}) == 10000);

  // A transaction holds rows in the middle for ~6 s: one batch waits 5 s,
  // rolls back and is retried; the file is rewritten meanwhile.
  auto holder = db::Connection::Open(db.url(), "long-transaction");
  REQUIRE(holder.ok());
  auto tx = (*holder)->Begin();
  REQUIRE(tx.ok());
  REQUIRE((*tx)->Exec("SELECT id FROM credentials WHERE id BETWEEN 1000 AND 1010 FOR UPDATE").ok());
  CliProcess rotate({"rotate", "--batch-size", "100", "--workers", "1", "--metrics-file", path}, KeyEnv(db, b, a));
  std::vector<std::string> snapshots;
  const auto start = std::chrono::steady_clock::now();
  bool committed = false;
  for (;;) {
    std::string text = ReadFile(path);
    if (snapshots.empty() || text != snapshots.back()) snapshots.push_back(text);
    if (!committed && std::chrono::steady_clock::now() - start > std::chrono::milliseconds(6500)) {
      REQUIRE((*tx)->Commit().ok());
      committed = true;
    }
    if (committed && text.find("credvault_command_running{command=\"rotate\"} 0") != std::string::npos) break;
    REQUIRE(std::chrono::steady_clock::now() - start < std::chrono::seconds(60));
    usleep(20 * 1000);
  }
  auto result = rotate.Wait();
  INFO(result.err);
  REQUIRE(result.exit_code == 0);

  // At least the start, one write while the job waited or ran, and the end.
  REQUIRE(snapshots.size() >= 3);
  Exposition previous = encrypted;
  bool saw_running_mid_job = false;
  for (const std::string& text : snapshots) {
    Exposition snapshot = ParseStrict(text);
    INFO(text);
    REQUIRE(snapshot.error.empty());
    ExpectCountersRose(previous, snapshot);
    const auto running = snapshot.series.find(SeriesKey("credvault_command_running", {{"command", "rotate"}}));
    const auto done = snapshot.series.find(SeriesKey("credvault_job_rows_done", {{"command", "rotate"}}));
    if (running != snapshot.series.end() && running->second == 1 && done != snapshot.series.end() && done->second > 0) {
      saw_running_mid_job = true;
    }
    previous = snapshot;
  }
  CHECK(saw_running_mid_job);

  const Exposition rotated = ReadMetrics(path);
  for (const char* column : kJobColumns) {
    const std::map<std::string, std::string> labels = {{"column", column}};
    CHECK(Value(rotated, "credvault_values", {{"kid", kid_a}, {"column", column}}) == 0);
    const double under_b = Value(rotated, "credvault_values", {{"kid", kid_b}, {"column", column}});
    CHECK(under_b == std::stod(db.Query(std::string("SELECT count(") + column + ") FROM credentials").text(0, 0)));
  }
  CHECK(Value(rotated, "credvault_command_exit_code", {{"command", "rotate"}}) == 0);
  CHECK(Value(rotated, "credvault_job_retries_total", {{"command", "rotate"}}) >= 1);
  CHECK(Value(rotated, "credvault_job_lock_wait_seconds_total", {{"command", "rotate"}}) >= 5);
  CHECK(Value(rotated, "credvault_job_rows_done", {{"command", "rotate"}}) == 10000);
  CHECK(Value(rotated, "credvault_job_rows_to_do", {{"command", "rotate"}}) == 10000);
  CHECK(Value(rotated, "credvault_job_rows_per_second", {{"command", "rotate"}}) > 0);
  CHECK(Value(rotated, "credvault_command_duration_seconds", {{"command", "rotate"}}) >= 5);
  const double now = static_cast<double>(std::time(nullptr));
  CHECK(std::abs(Value(rotated, "credvault_command_last_success_timestamp_seconds", {{"command", "rotate"}}) - now) < 120);
  // encrypt's samples stay: one file serves every command.
  CHECK(Value(rotated, "credvault_command_runs_total", {{"command", "encrypt"}}) == 1);

  // keys: every kid of the ring, 0 where unused; counters continue.
  REQUIRE(RunCli({"keys", "--metrics-file", path}, KeyEnv(db, b, a)).exit_code == 0);
  const Exposition keys = ReadMetrics(path);
  ExpectCountersRose(rotated, keys);
  CHECK(Value(keys, "credvault_values", {{"kid", kid_a}, {"column", "refresh_token"}}) == 0);
  CHECK(Value(keys, "credvault_values", {{"kid", kid_b}, {"column", "client_id"}}) == 10000);
  CHECK(Value(keys, "credvault_command_exit_code", {{"command", "keys"}}) == 0);
  // A failing run (a key that matches no value: exit 3): last success stays, failures and runs rise.
  REQUIRE(RunCli({"rotate", "--metrics-file", path}, KeyEnv(db, NewBase64Key())).exit_code == 3);
  const Exposition after = ReadMetrics(path);
  ExpectCountersRose(keys, after);
  CHECK(Value(after, "credvault_command_runs_total", {{"command", "rotate"}}) == 2);
  CHECK(Value(after, "credvault_command_failures_total", {{"command", "rotate"}}) == 1);
  CHECK(Value(after, "credvault_command_exit_code", {{"command", "rotate"}}) == 3);
  CHECK(Value(after, "credvault_command_last_success_timestamp_seconds", {{"command", "rotate"}}) ==
        Value(rotated, "credvault_command_last_success_timestamp_seconds", {{"command", "rotate"}}));

  // No secret: neither key, nor any stored value (plaintext or ciphertext).
  const std::string file = ReadFile(path);
  for (const std::string& key : {a, b}) {
    CHECK(file.find(key) == std::string::npos);
    CHECK(file.find(key.substr(7, 16)) == std::string::npos);  // part of the base64 after "base64:"
  }
  CHECK(file.find("cv1:") == std::string::npos);
  db::Rows samples = db.Query("SELECT client_id, client_secret, refresh_token FROM originals WHERE refresh_token IS NOT NULL LIMIT 3");
  for (std::size_t i = 0; i < samples.size(); ++i) {
    for (std::size_t c = 0; c < 3; ++c) {
      const std::string value = samples.text(i, c);
      CHECK(file.find(value.substr(value.size() - 16)) == std::string::npos);
    }
  }
}

TEST_CASE("an unwritable metrics file refuses the command before it touches the database", "[metrics]") {
  TestDatabase db;
  Populate(db, 10);
  const std::string a = NewBase64Key();
  auto result = RunCli({"encrypt", "--metrics-file", "/nonexistent-folder/credvault.prom"}, KeyEnv(db, a));
  CHECK(result.exit_code == 3);
  CHECK(result.err.find("/nonexistent-folder/credvault.prom") != std::string::npos);
  CHECK(CountCiphertext(db) == 0);
}
