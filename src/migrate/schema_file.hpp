// The declarative schema file (schema.sql): the text checks made before it
// is applied anywhere. Pure: no database (the fuzz target feeds it).
#pragma once

#include <string>
#include <string_view>

#include "credvault/status.hpp"

namespace credvault::migrate {

// Checks schema-file text before anything runs: it must parse (PostgreSQL
// 15's grammar), hold DDL only, and stay inside the schema it is applied in.
// Refused: transaction control, SET, CREATE SCHEMA or EXTENSION,
// schema-qualified names; and whatever runs code or touches rows — DO, COPY,
// CALL, SELECT, INSERT/UPDATE/DELETE/MERGE, CREATE TABLE AS, a materialized
// view without WITH NO DATA, a function in a language other than sql and
// plpgsql (C, internal, untrusted PLs), and any statement kind not on the
// DDL list. kInvalidArgument "<path>:<line>: ..." otherwise.
Status ValidateSchemaFile(const std::string& path, std::string_view sql);

}  // namespace credvault::migrate
