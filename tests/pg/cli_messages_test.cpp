// What the CLI tells a person about one account and one database: failures
// name the account (the id put and get take) as well as credentials.id,
// get and put use the same words for a missing account, and status shows
// where it is connected.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "jobs_fixture.hpp"

using namespace credvault::testing;

TEST_CASE("status shows the host, port, database and user it is connected to", "[cli]") {
  TestDatabase db;
  auto status = RunCli({"status"}, KeyEnv(db, NewBase64Key()));
  REQUIRE(status.exit_code == 0);
  const auto line = status.out.substr(0, status.out.find('\n'));
  CHECK(line.rfind("database:", 0) == 0);
  CHECK(line.find("host=") != std::string::npos);
  CHECK(line.find("port=") != std::string::npos);
  CHECK(line.find("dbname=" + db.name() + " ") != std::string::npos);
  CHECK(line.find("user=") != std::string::npos);
  CHECK(line.find("libpq defaults") == std::string::npos);
}
