// Native data steps (`-- migrate:step <name>`): the migrator asks for a
// preflight of every step in its plan before it applies anything, then runs
// them in order. The row jobs provide the real steps (encrypt, decrypt).
#pragma once

#include <string>

#include "credvault/status.hpp"

namespace credvault::migrate {

class StepRunner {
 public:
  virtual ~StepRunner() = default;
  // Whether `step` can run here (known step, keys configured, columns wide
  // enough, ...). Called for every step of a plan before anything is applied.
  virtual Status Preflight(const std::string& step) = 0;
  // Runs the step to completion (it commits in batches itself).
  virtual Status Run(const std::string& step) = 0;
};

}  // namespace credvault::migrate
