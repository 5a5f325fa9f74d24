// Where a connection string leads: the host, port, database and user libpq
// uses for it, for messages ("cannot connect to …", `status`). Resolved as
// libpq resolves them — the string itself, then the PG* environment
// variables (and PGSERVICE), then libpq's built-in defaults — without
// connecting. Never includes the password.
#pragma once

#include <string>

#include "credvault/status.hpp"

namespace credvault::db {

struct ConnectionTarget {
  std::string host;    // name, address, or Unix socket directory; "" = libpq's default socket directory
  std::string port;
  std::string dbname;  // libpq's default: the user name; a connection string (with its secrets as ***) in quotes
  std::string user;
  std::string service; // service=… from the string, whose file may change the values above; usually ""
};

// kInvalidArgument when libpq cannot parse `conninfo` (the message does not
// repeat it: it may hold a password). "" means the PG* variables alone.
StatusOr<ConnectionTarget> ResolveConnectionTarget(const std::string& conninfo);

// "host=db.internal port=5432 dbname=ads user=ops" (a missing host reads
// "host=(default Unix socket)"), or a sentence saying the string is not
// understood.
std::string DescribeTarget(const std::string& conninfo);

// For "cannot connect to …" and prompts: the string with its secrets hidden
// and what it resolves to, "postgresql://ops:***@db/ads (host=db port=5432
// dbname=ads user=ops)"; for "" the resolved target and "(from the PG*
// variables and libpq's defaults)".
std::string DescribeConnection(const std::string& conninfo);

// libpq's reason for a failed connection with every stretch that repeats a
// dbname which is itself a connection string (16 bytes or more of its start:
// the server quotes the name it was sent, cut to 63 bytes) replaced by that
// dbname redacted: its password never reaches a message.
std::string WithoutConninfoDbname(std::string message, const std::string& conninfo);

}  // namespace credvault::db
