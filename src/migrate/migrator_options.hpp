// What every migrator operation is given: where the database is, the
// environment of the run, how long to wait for the migration lock, the log
// and the native steps.
#pragma once

#include <memory>
#include <string>

#include <spdlog/spdlog.h>

#include "credvault/environment.hpp"
#include "migrate/step_runner.hpp"

namespace credvault::migrate {

struct MigratorOptions {
  std::string conninfo;
  // Where given, the migration lock and the migrations themselves use this
  // connection (one that reaches PostgreSQL without a pooler); native steps
  // and everything else use `conninfo`. "" = `conninfo` for everything.
  std::string direct_conninfo;
  Environment environment = Environment::kProduction;
  int lock_timeout_seconds = 60;
  std::shared_ptr<spdlog::logger> log;
  StepRunner* steps = nullptr;  // nullptr: no native step is available
};

}  // namespace credvault::migrate
