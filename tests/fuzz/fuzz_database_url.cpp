// Arbitrary DATABASE_URL values: normalisation and password redaction.
// Whatever libpq makes of the text, a password (or sslpassword) it finds
// there never survives RedactDatabaseUrl, and no error message repeats it.
#include <libpq-fe.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "db/database_url.hpp"

namespace {

// The values libpq parses out of `conninfo`: {secret values, other values}.
// Empty when libpq cannot parse it.
struct Parsed {
  bool ok = false;
  std::vector<std::string> secrets, others;
};

Parsed ParseWithLibpq(const std::string& conninfo) {
  Parsed out;
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
  if (error != nullptr) PQfreemem(error);
  if (options == nullptr) return out;
  out.ok = true;
  for (const PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    const std::string keyword = o->keyword;
    (keyword == "password" || keyword == "sslpassword" ? out.secrets : out.others).push_back(o->val);
  }
  PQconninfoFree(options);
  return out;
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// The seeds hide this in every form libpq takes a password in; the fuzzer
// mutates around it. (A marker rather than any password, so that text made
// by escaping or encoding other values can never look like a leak.)
constexpr const char* kMarker = "S3cretPw";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string url(reinterpret_cast<const char*>(data), size);
  if (url.find('\0') != std::string::npos) return 0;  // not a C string: libpq never sees one
  auto normalized = credvault::db::NormalizeDatabaseUrl(url);
  if (normalized.ok()) {
    // Normalising is idempotent.
    auto again = credvault::db::NormalizeDatabaseUrl(*normalized);
    if (!again.ok() || *again != *normalized) std::abort();
    // A password (or sslpassword) that libpq finds, holding the marker that
    // no other parameter holds, never shows in the redacted form.
    const Parsed parsed = ParseWithLibpq(*normalized);
    if (!parsed.ok) std::abort();  // normalising promises a string libpq accepts
    bool marker_in_secret = false, marker_elsewhere = false;
    for (const std::string& secret : parsed.secrets) marker_in_secret = marker_in_secret || Contains(secret, kMarker);
    for (const std::string& other : parsed.others) marker_elsewhere = marker_elsewhere || Contains(other, kMarker);
    if (marker_in_secret && !marker_elsewhere && Contains(credvault::db::RedactDatabaseUrl(*normalized), kMarker)) {
      std::abort();
    }
    // The connection string credvault connects with keeps every parameter.
    auto connect = credvault::db::WithApplicationName(*normalized, "credvault fuzz");
    if (!connect.ok() || !ParseWithLibpq(*connect).ok) std::abort();
  } else {
    // Messages never repeat the text (it may hold a password).
    if (Contains(url, kMarker) && Contains(normalized.status().message(), kMarker)) std::abort();
  }
  return 0;
}
