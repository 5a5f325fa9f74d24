// Environment: which deployment a run is for. Parsed once, where text comes in
// (the CLI's --env, CREDVAULT_ENV, the config file, credvault_open's
// environment string); everything past that point compares enum values.
// The database records the environment as its name ("production", ...).
#pragma once

#include <string_view>

#include "credvault/export.h"
#include "credvault/status.hpp"

namespace credvault {

enum class Environment { kDevelopment, kStaging, kProduction };

// "development", "staging" or "production": the text a user types and the
// database records.
CREDVAULT_EXPORT const char* EnvironmentName(Environment environment);

// The environment named `text` (exactly one of the three names), or
// kInvalidArgument "environment must be development, staging or production;
// got '<text>'".
CREDVAULT_EXPORT StatusOr<Environment> ParseEnvironment(std::string_view text);

}  // namespace credvault
