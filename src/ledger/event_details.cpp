#include "ledger/event_details.hpp"

#include <cstdio>

namespace credvault::ledger {

std::string JsonQuote(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (byte < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\u%04x", byte);
          out += escaped;
        } else {
          out += c;  // UTF-8 passes through; jsonb refuses invalid UTF-8 itself
        }
    }
  }
  return out + "\"";
}

EventDetails& EventDetails::AddRaw(std::string_view key, const std::string& json_value) {
  if (!members_.empty()) members_ += ", ";
  members_ += JsonQuote(key) + ": " + json_value;
  return *this;
}

EventDetails& EventDetails::AddText(std::string_view key, std::string_view text) { return AddRaw(key, JsonQuote(text)); }

EventDetails& EventDetails::AddCount(std::string_view key, unsigned long long count) {
  return AddRaw(key, std::to_string(count));
}

EventDetails& EventDetails::AddSeconds(std::string_view key, double seconds) {
  return AddRaw(key, std::to_string(seconds));
}

EventDetails& EventDetails::AddFlag(std::string_view key, bool flag) { return AddRaw(key, flag ? "true" : "false"); }

EventDetails& EventDetails::AddTextList(std::string_view key, const std::vector<std::string>& texts) {
  std::string list;
  for (const std::string& text : texts) list += (list.empty() ? "" : ", ") + JsonQuote(text);
  return AddRaw(key, "[" + list + "]");
}

std::string EventDetails::ToJson() const { return "{" + members_ + "}"; }

}  // namespace credvault::ledger
