// Binary statement parameters (db/binary_params.hpp) as the server reads
// them: the row jobs send every batch this way, so a wrong length, byte order
// or NULL flag would write wrong values.
#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <string>

#include "db/binary_params.hpp"
#include "db/connection.hpp"
#include "support/test_support.hpp"

using namespace credvault;
using namespace credvault::testing;
using Array = db::BinaryArrayBuilder;

namespace {

// Runs `sql` with binary `params` in a transaction; the first row's fields.
std::vector<db::Value> QueryRow(db::Connection& conn, const std::string& sql, const db::BinaryParams& params) {
  auto tx = conn.Begin();
  REQUIRE(tx.ok());
  auto rows = (*tx)->QueryBinary(sql, params);
  INFO(rows.status().ToString());
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == 1);
  return rows->rows[0];
}

}  // namespace

TEST_CASE("binary text arrays reach the server byte for byte, NULLs included", "[db]") {
  TestDatabase db;
  auto conn = db.Connect();
  // Everything a text array literal would have to escape, an empty string, non-ASCII, and NULLs.
  const std::vector<db::Value> elements = {std::string("plain"), std::string("quote \" and backslash \\"),
                                           std::string("{braces},commas,NULL"), std::string(),
                                           std::nullopt, std::string("caf\xC3\xA9 \xE2\x82\xAC"),
                                           std::string(5000, 'x'), std::nullopt};
  Array array(Array::ElementType::kText);
  for (const auto& element : elements) {
    if (element) {
      array.AddText(*element);
    } else {
      array.AddNull();
    }
  }
  CHECK(array.size() == elements.size());
  const db::BinaryParams params = {array.Finish()};
  for (std::size_t i = 0; i < elements.size(); ++i) {
    auto row = QueryRow(*conn, "SELECT ($1::text[])[" + std::to_string(i + 1) + "], cardinality($1::text[])", params);
    CHECK(row[0] == elements[i]);
    CHECK(row[1] == std::to_string(elements.size()));
  }
}

TEST_CASE("binary int4 and xid arrays and int4 scalars keep sign and range", "[db]") {
  TestDatabase db;
  auto conn = db.Connect();
  Array ints(Array::ElementType::kInt4), xids(Array::ElementType::kXid);
  for (std::int32_t v : {0, 1, -1, std::numeric_limits<std::int32_t>::max(), std::numeric_limits<std::int32_t>::min()}) {
    ints.AddInt4(v);
  }
  for (std::uint32_t v : {3u, 4294967295u}) xids.AddXid(v);
  auto row = QueryRow(*conn, "SELECT $1::integer[]::text, $2::xid[]::text, $3::integer, $4::integer",
                      {ints.Finish(), xids.Finish(), db::BinaryInt4(-42), db::BinaryInt4(123456789)});
  CHECK(row[0] == std::string("{0,1,-1,2147483647,-2147483648}"));
  CHECK(row[1] == std::string("{3,4294967295}"));
  CHECK(row[2] == std::string("-42"));
  CHECK(row[3] == std::string("123456789"));
}

TEST_CASE("an empty binary array is an empty array, and a builder is reusable after Finish", "[db]") {
  TestDatabase db;
  auto conn = db.Connect();
  Array array(Array::ElementType::kText);
  const std::string empty = array.Finish();
  array.AddText("again");
  const std::string one = array.Finish();
  auto row = QueryRow(*conn, "SELECT cardinality($1::text[]), $2::text[]::text", {empty, one});
  CHECK(row[0] == std::string("0"));
  CHECK(row[1] == std::string("{again}"));
}

TEST_CASE("binary text that is not valid in the server encoding is refused, not stored", "[db]") {
  TestDatabase db;
  auto conn = db.Connect();
  Array array(Array::ElementType::kText);
  array.AddText(std::string("bad \xFF byte"));
  auto tx = conn->Begin();
  REQUIRE(tx.ok());
  auto rows = (*tx)->QueryBinary("SELECT ($1::text[])[1]", {array.Finish()});
  REQUIRE_FALSE(rows.ok());
  CHECK(rows.status().reason() == "22021");  // character_not_in_repertoire / invalid byte sequence
  CHECK(rows.status().message().find("\xFF") == std::string::npos);
}
