#include "credvault/environment.hpp"

#include <string>

namespace credvault {

const char* EnvironmentName(Environment environment) {
  switch (environment) {
    case Environment::kDevelopment: return "development";
    case Environment::kStaging: return "staging";
    case Environment::kProduction: return "production";
  }
  return "production";
}

StatusOr<Environment> ParseEnvironment(std::string_view text) {
  for (Environment candidate : {Environment::kDevelopment, Environment::kStaging, Environment::kProduction}) {
    if (text == EnvironmentName(candidate)) return candidate;
  }
  return InvalidArgumentError("environment must be development, staging or production; got '" + std::string(text) +
                              "'");
}

}  // namespace credvault
