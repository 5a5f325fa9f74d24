// The `details` object of a credvault_events row, built field by field: every
// text is escaped as JSON requires (quotes, backslashes and control
// characters), so any revision, SQLSTATE or kid is recorded as it is.
// Details hold counts, kids, revisions and durations — never a value or a key.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace credvault::ledger {

class EventDetails {
 public:
  EventDetails& AddText(std::string_view key, std::string_view text);
  EventDetails& AddCount(std::string_view key, unsigned long long count);
  EventDetails& AddSeconds(std::string_view key, double seconds);
  EventDetails& AddFlag(std::string_view key, bool flag);
  EventDetails& AddTextList(std::string_view key, const std::vector<std::string>& texts);

  // The JSON object, e.g. {"from": "20260101_0001", "applied": 2}.
  std::string ToJson() const;

 private:
  EventDetails& AddRaw(std::string_view key, const std::string& json_value);
  std::string members_;
};

// `text` as a JSON string literal, quotes included.
std::string JsonQuote(std::string_view text);

}  // namespace credvault::ledger
