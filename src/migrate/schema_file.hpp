// The declarative schema file (schema.sql): the text checks made before it
// is applied anywhere. Pure: no database (the fuzz target feeds it).
#pragma once

#include <string>
#include <string_view>

#include "credvault/status.hpp"

namespace credvault::migrate {

// Checks schema-file text before anything runs: it must parse (PostgreSQL
// 15's grammar), and it must stay inside the schema it is applied in — no
// transaction control, no SET search_path, no CREATE SCHEMA or EXTENSION, no
// schema-qualified names. kInvalidArgument "<path>:<line>: ..." otherwise.
Status ValidateSchemaFile(const std::string& path, std::string_view sql);

}  // namespace credvault::migrate
