// Arbitrary DATABASE_URL values: normalisation and password redaction.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "db/database_url.hpp"

namespace {
constexpr const char* kPassword = "S3cretPw";
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string url(reinterpret_cast<const char*>(data), size);
  auto normalized = credvault::db::NormalizeDatabaseUrl(url);
  if (normalized.ok()) {
    // Normalising is idempotent.
    auto again = credvault::db::NormalizeDatabaseUrl(*normalized);
    if (!again.ok() || *again != *normalized) std::abort();
  } else if (url.find(kPassword) != std::string::npos &&
             normalized.status().message().find(kPassword) != std::string::npos) {
    std::abort();  // messages never repeat the URL (it may hold a password)
  }
  // In a URL, a password written as user:password@ in the authority is hidden.
  const std::size_t scheme_end = url.find("://");
  const std::size_t at = url.find(std::string(":") + kPassword + "@");
  const bool password_once = at != std::string::npos && url.find(kPassword) == at + 1 &&
                             url.find(kPassword, at + 2) == std::string::npos;
  if (scheme_end != std::string::npos && password_once && at > scheme_end &&
      url.find_first_of("/?#", scheme_end + 3) > at &&
      credvault::db::RedactDatabaseUrl(url).find(kPassword) != std::string::npos) {
    std::abort();
  }
  return 0;
}
