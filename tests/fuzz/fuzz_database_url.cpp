// Arbitrary DATABASE_URL values: normalisation and password redaction.
// Whatever libpq makes of the text, a password (or sslpassword) it finds
// there — also inside a dbname that is itself a connection string, which
// libpq expands — never survives RedactDatabaseUrl nor the connection
// description (DescribeConnection: status, errors, replica names), and no
// error message repeats it.
#include <libpq-fe.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "db/connection_target.hpp"
#include "db/database_url.hpp"

namespace {

// The values libpq parses out of `conninfo`: {secret values, other values}.
// Empty when libpq cannot parse it.
struct Parsed {
  bool ok = false;
  std::vector<std::string> secrets, others;
};

// libpq's own test (recognized_connection_string): a dbname holding '=' or
// starting with a URI prefix is itself a connection string.
bool IsConninfo(const std::string& value) {
  return value.find('=') != std::string::npos || value.rfind("postgresql://", 0) == 0 ||
         value.rfind("postgres://", 0) == 0;
}

// `level` 0 is the string itself. A dbname that is a connection string is
// walked in turn (its passwords are secrets, the rest are not) down to level
// 2; deeper, or when libpq cannot parse it, it counts as a secret whole (the
// redaction shows none of it).
void Collect(const std::string& conninfo, int level, Parsed& out) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
  if (error != nullptr) PQfreemem(error);
  if (options == nullptr) {
    out.secrets.push_back(conninfo);
    return;
  }
  for (const PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    const std::string keyword = o->keyword;
    if (keyword == "dbname" && IsConninfo(o->val)) {
      if (level < 2) {
        Collect(o->val, level + 1, out);
      } else {
        out.secrets.push_back(o->val);
      }
      continue;
    }
    (keyword == "password" || keyword == "sslpassword" ? out.secrets : out.others).push_back(o->val);
  }
  PQconninfoFree(options);
}

Parsed ParseWithLibpq(const std::string& conninfo) {
  Parsed out;
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
  if (error != nullptr) PQfreemem(error);
  if (options == nullptr) return out;
  PQconninfoFree(options);
  out.ok = true;
  Collect(conninfo, 0, out);
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
    if (marker_in_secret && !marker_elsewhere &&
        (Contains(credvault::db::RedactDatabaseUrl(*normalized), kMarker) ||
         Contains(credvault::db::DescribeConnection(*normalized), kMarker))) {
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
