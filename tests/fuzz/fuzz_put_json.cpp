// put's JSON parser (src/cli/credentials_json.cpp) against nlohmann::json:
// whatever it accepts, nlohmann parses to the same object of strings; what
// nlohmann parses to an object of strings with known, distinct fields, it
// accepts (unless the input holds a NUL byte, which nlohmann takes for the
// end of input); and its messages never quote a value.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "cli/credentials_json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto ours = credvault::cli::ParseCredentialsJson(text);
  const nlohmann::json theirs = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
  if (ours.ok()) {
    if (theirs.is_discarded() || !theirs.is_object() || theirs.size() != ours->size()) std::abort();
    for (const auto& [name, value] : *ours) {
      auto it = theirs.find(name);
      if (it == theirs.end() || !it->is_string() || it->get<std::string>() != value.view()) std::abort();
    }
    return 0;
  }
  const std::string& message = ours.status().message();
  if (!theirs.is_discarded() && theirs.is_object()) {
    // Field names may be quoted; values never (one of 8+ bytes found in the
    // message must come from a name or the fixed wording).
    constexpr std::string_view kWording =
        "put: stdin is not valid JSON (at byte ) unknown field '' (expected client_id, client_secret, "
        "refresh_token) given twice values must be strings null is not accepted: leave the field out to keep its "
        "value nested objects are not accepted arrays are not accepted stdin is not a JSON object";
    std::string names;
    bool flat_known = true;
    for (const auto& [name, value] : theirs.items()) {
      names += name + '\n';
      flat_known = flat_known && value.is_string() &&
                   (name == "client_id" || name == "client_secret" || name == "refresh_token");
    }
    for (const auto& [name, value] : theirs.items()) {
      if (!value.is_string()) continue;
      const std::string secret = value.get<std::string>();
      if (secret.size() >= 8 && message.find(secret) != std::string::npos && names.find(secret) == std::string::npos &&
          kWording.find(secret) == std::string_view::npos) {
        std::abort();
      }
    }
    // nlohmann keeps the last of repeated fields; ours refuses them. And
    // nlohmann takes a NUL byte for the end of input ("{}\0x" parses), where
    // RFC 8259 (and ours) has no NUL outside a string, and none raw inside.
    if (flat_known && message.find("given twice") == std::string::npos &&
        text.find('\0') == std::string_view::npos) {
      std::abort();
    }
  }
  return 0;
}
