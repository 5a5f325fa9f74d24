// Environment names: parsed once, invalid names refused wherever they come
// in (the C ABI included, before any connection is attempted).
#include <catch2/catch.hpp>

#include <string>

#include "credvault/credvault.h"
#include "credvault/environment.hpp"
#include "support/test_support.hpp"

using credvault::Environment;
using credvault::EnvironmentName;
using credvault::ParseEnvironment;

TEST_CASE("environment names round-trip and nothing else parses", "[environment]") {
  for (Environment e : {Environment::kDevelopment, Environment::kStaging, Environment::kProduction}) {
    auto parsed = ParseEnvironment(EnvironmentName(e));
    REQUIRE(parsed.ok());
    CHECK(*parsed == e);
  }
  CHECK(std::string(EnvironmentName(Environment::kProduction)) == "production");
  for (const char* bad : {"prod", "Production", "", " staging", "development\n", "test"}) {
    auto parsed = ParseEnvironment(bad);
    CHECK_FALSE(parsed.ok());
    CHECK(parsed.status().code() == credvault::StatusCode::kInvalidArgument);
    CHECK(parsed.status().message() ==
          "environment must be development, staging or production; got '" + std::string(bad) + "'");
  }
}

TEST_CASE("credvault_open refuses an unknown environment", "[environment][c_api]") {
  const std::string key = credvault::testing::NewBase64Key();
  credvault_vault* vault = reinterpret_cast<credvault_vault*>(&vault);  // must be reset to NULL
  // No server is needed: the environment is refused before any connection.
  int rc = credvault_open("host=/nonexistent dbname=none", key.c_str(), nullptr, 0, "prod", nullptr, &vault);
  CHECK(rc == CREDVAULT_INVALID_ARGUMENT);
  CHECK(vault == nullptr);
  CHECK(std::string(credvault_last_error()) ==
        "environment must be development, staging or production; got 'prod'");
}
