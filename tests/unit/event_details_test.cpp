// Event details are valid JSON whatever text goes in: nothing is dropped.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "ledger/event_details.hpp"

using credvault::ledger::EventDetails;
using credvault::ledger::JsonQuote;

TEST_CASE("event details escape quotes, backslashes and control characters", "[events]") {
  const std::string awkward = std::string("a\"b\\c\nd\te\x01" "f\x1f" "g\x7f" "h ü") + '\0' + "end";
  const std::string json = EventDetails()
                               .AddText("text", awkward)
                               .AddCount("rows", 18446744073709551615ull)
                               .AddSeconds("seconds", 1.5)
                               .AddFlag("out_of_order", true)
                               .AddTextList("ahead_of", {"20260101_0001", "x\"y"})
                               .ToJson();
  auto parsed = nlohmann::json::parse(json);
  CHECK(parsed["text"].get<std::string>() == awkward);
  CHECK(parsed["rows"].get<unsigned long long>() == 18446744073709551615ull);
  CHECK(parsed["seconds"].get<double>() == 1.5);
  CHECK(parsed["out_of_order"].get<bool>());
  CHECK(parsed["ahead_of"] == nlohmann::json::array({"20260101_0001", "x\"y"}));
  CHECK(EventDetails().ToJson() == "{}");
  CHECK(JsonQuote("\n") == "\"\\n\"");
  CHECK(JsonQuote(std::string(1, '\x02')) == "\"\\u0002\"");
}
