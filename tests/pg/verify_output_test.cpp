// verify's text output on a table full of failures: the summary and the
// counts per reason first, then at most 20 failing values unless --limit N
// or --all; --json keeps its content (the first 1000 failures).
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "jobs_fixture.hpp"
#include "support/test_support.hpp"

using namespace credvault;
using namespace credvault::testing;

namespace {

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

int CountFailedLines(const std::string& text) {
  int n = 0;
  for (const auto& line : Lines(text)) n += line.rfind("  FAILED account ", 0) == 0;
  return n;
}

}  // namespace

TEST_CASE("verify lists 20 failures by default - --limit N - --all - JSON unchanged", "[verify][output]") {
  TestDatabase db;
  Populate(db, 400);  // plaintext: every non-NULL value fails verify
  const std::string a = NewBase64Key();
  const int values = std::stoi(db.Query("SELECT count(client_id) + count(client_secret) + count(refresh_token) "
                                        "FROM credentials").text(0, 0));
  REQUIRE(values > 1000);

  auto plain = RunCli({"verify"}, KeyEnv(db, a));
  CHECK(plain.exit_code == 6);
  const auto lines = Lines(plain.out);
  REQUIRE(lines.size() >= 3);
  CHECK(lines[0].rfind("checked " + std::to_string(values) + " value(s)", 0) == 0);
  CHECK(lines[1].rfind("  failed, plaintext: " + std::to_string(values), 0) == 0);
  CHECK(CountFailedLines(plain.out) == 20);
  CHECK(plain.out.find("FAILED account 1 client_id: plaintext") != std::string::npos);  // row order
  CHECK(lines.back() == "  ... and " + std::to_string(values - 20) +
                            " more (the first 20 are listed; --limit N or --all for more, --json for the first 1000)");

  auto five = RunCli({"verify", "--limit", "5"}, KeyEnv(db, a));
  CHECK(five.exit_code == 6);
  CHECK(CountFailedLines(five.out) == 5);

  auto all = RunCli({"verify", "--all"}, KeyEnv(db, a));
  CHECK(all.exit_code == 6);
  CHECK(CountFailedLines(all.out) == values);
  CHECK(all.out.find(" more (") == std::string::npos);

  CHECK(RunCli({"verify", "--all", "--limit", "3"}, KeyEnv(db, a)).exit_code == 2);

  for (const std::vector<std::string>& args : {std::vector<std::string>{"verify", "--json"},
                                               std::vector<std::string>{"verify", "--json", "--all"},
                                               std::vector<std::string>{"verify", "--json", "--limit", "3"}}) {
    auto json = RunCli(args, KeyEnv(db, a));
    CHECK(json.exit_code == 6);
    auto report = nlohmann::json::parse(json.out);
    CHECK(report["failures"].size() == 1000);
    CHECK(report["failure_count"].get<int>() == values);
    CHECK(report["failures_by_reason"]["plaintext"].get<int>() == values);
  }
}
