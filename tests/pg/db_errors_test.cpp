// How the db layer reports server errors that callers act on: a deadlock
// must come back as kAborted with SQLSTATE 40P01 (the row jobs retry those).
// libpqxx 6.4 throws it as a pqxx::failure, not a pqxx::sql_error: the
// 3-rotator concurrency test once died of an unretried deadlock.
#include <catch2/catch.hpp>

#include <future>

#include "support/test_support.hpp"

using namespace credvault;
using namespace credvault::testing;

TEST_CASE("a deadlock is kAborted with reason 40P01, and the other transaction goes on", "[db]") {
  TestDatabase db;
  auto setup = db.Connect();
  REQUIRE(setup->ExecScript("CREATE TABLE pair (id int PRIMARY KEY, v int); INSERT INTO pair VALUES (1, 0), (2, 0);").ok());
  auto a = db.Connect(), b = db.Connect();
  auto ta = a->Begin(), tb = b->Begin();
  REQUIRE(ta.ok());
  REQUIRE(tb.ok());
  REQUIRE((*ta)->Exec("UPDATE pair SET v = 1 WHERE id = 1").ok());
  REQUIRE((*tb)->Exec("UPDATE pair SET v = 2 WHERE id = 2").ok());
  // a now waits for b's row; b then asks for a's row: one of them is chosen
  // by the deadlock detector (deadlock_timeout, 1 s by default).
  auto waiting = std::async(std::launch::async, [&] { return (*ta)->Exec("UPDATE pair SET v = 1 WHERE id = 2"); });
  Status second = (*tb)->Exec("UPDATE pair SET v = 2 WHERE id = 1");
  if (second.ok()) REQUIRE((*tb)->Commit().ok());
  Status first = waiting.get();
  const Status& victim = first.ok() ? second : first;
  INFO(victim.ToString());
  CHECK(first.ok() != second.ok());
  CHECK(victim.code() == StatusCode::kAborted);
  CHECK(victim.reason() == "40P01");
  CHECK(victim.message().find("deadlock detected") != std::string::npos);
}
