// Connection::ScanOnOneCore: a job's scan plans no parallel workers (it would
// take every core of a small server and stall the application's reads), and
// the setting stays inside the scan's own transaction (through a pooler in
// transaction mode, a session setting would reach other clients).
#include <catch2/catch.hpp>

#include "support/test_support.hpp"

using namespace credvault;
using namespace credvault::testing;

namespace {

// The plan of `sql` as one text, from EXPLAIN run by `run`.
template <typename Run>
std::string PlanOf(Run run, const std::string& sql) {
  auto rows = run("EXPLAIN " + sql);
  REQUIRE(rows.ok());
  std::string plan;
  for (std::size_t i = 0; i < rows->size(); ++i) plan += rows->text(i, 0) + "\n";
  return plan;
}

}  // namespace

TEST_CASE("a scan on one core plans no parallel workers where a plain query does, and leaves the session as it was",
          "[db]") {
  TestDatabase db;
  auto conn = db.Connect();
  REQUIRE(conn->ExecScript("CREATE TABLE wide (id int, v text); INSERT INTO wide SELECT g, md5(g::text) FROM "
                           "generate_series(1, 20000) g; ANALYZE wide;")
              .ok());
  // Make a parallel plan certain on any server that allows parallel workers.
  REQUIRE(conn->ExecScript("SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; "
                           "SET min_parallel_table_scan_size = 0; SET max_parallel_workers_per_gather = 2;")
              .ok());
  const std::string count = "SELECT count(*) FROM wide WHERE v LIKE 'a%'";
  auto plain = [&](const std::string& sql) { return conn->Query(sql); };
  auto one_core = [&](const std::string& sql) { return conn->ScanOnOneCore(sql); };
  CHECK(PlanOf(plain, count).find("Gather") != std::string::npos);
  const std::string plan = PlanOf(one_core, count);
  INFO(plan);
  CHECK(plan.find("Gather") == std::string::npos);
  CHECK(plan.find("Parallel") == std::string::npos);
  // The answer is the same, and the session setting is untouched afterwards.
  auto serial = conn->ScanOnOneCore(count);
  auto parallel = conn->Query(count);
  REQUIRE(serial.ok());
  REQUIRE(parallel.ok());
  CHECK(serial->text(0, 0) == parallel->text(0, 0));
  auto setting = conn->Query("SELECT current_setting('max_parallel_workers_per_gather')");
  REQUIRE(setting.ok());
  CHECK(setting->text(0, 0) == "2");
}
