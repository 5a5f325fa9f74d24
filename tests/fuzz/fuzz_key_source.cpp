// Arbitrary text through the key-source parser, the pkcs11: URI parser and
// the wrapped-key file parser. Nothing is resolved (no command runs, no file
// or module is opened): only parsing.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "credvault/key_source.hpp"
#include "crypto/parsed_key_source.hpp"
#include "crypto/pkcs11_uri.hpp"
#include "crypto/wrapped_key.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto source = credvault::crypto::ParseKeySource(text);
  if (source.ok()) {
    // A literal key is never copied out; a source keeps its location.
    if (source->kind == credvault::crypto::KeySourceKind::kLiteral && !source->location.empty()) std::abort();
    if (source->kind != credvault::crypto::KeySourceKind::kLiteral && source->location.empty()) std::abort();
    (void)credvault::crypto::DescribeKeySource(*source);
  }
  auto uri = credvault::crypto::ParsePkcs11Uri(text);
  if (uri.ok()) {
    if (uri->token.empty() || (uri->object.empty() && uri->id.empty())) std::abort();
    // Formatting and parsing again gives the same attributes.
    auto again = credvault::crypto::ParsePkcs11Uri(credvault::crypto::FormatPkcs11Uri(*uri));
    if (!again.ok() || again->token != uri->token || again->object != uri->object || again->id != uri->id ||
        again->module_path != uri->module_path || again->pin_source != uri->pin_source) {
      std::abort();
    }
  } else if (auto question = text.find('?'); question != std::string_view::npos) {
    // A pin-value query attribute is refused and never quoted back. The same
    // URI with every pin-value replaced by a marker must not quote the marker;
    // and the real PIN may show in the message only where the marked URI's
    // message has the same bytes (the fixed wording, another attribute).
    constexpr std::string_view kMarker = "PinMarker7f3a";
    std::string_view query = text.substr(question + 1);
    std::string marked(text.substr(0, question + 1));
    std::vector<std::string_view> pins;
    while (!query.empty()) {
      const std::string_view attribute = query.substr(0, query.find('&'));
      if (attribute.substr(0, 10) == "pin-value=") {
        pins.push_back(attribute.substr(10));
        marked.append("pin-value=").append(kMarker);
      } else {
        marked.append(attribute);
      }
      if (attribute.size() == query.size()) break;
      marked.push_back('&');
      query.remove_prefix(attribute.size() + 1);
    }
    auto marked_uri = credvault::crypto::ParsePkcs11Uri(marked);
    const std::string marked_message = marked_uri.ok() ? std::string() : marked_uri.status().message();
    if (!pins.empty() && marked_message.find(kMarker) != std::string::npos) std::abort();
    for (const std::string_view pin : pins) {
      if (pin.size() >= 4 && uri.status().message().find(pin) != std::string::npos &&
          marked_message.find(pin) == std::string::npos) {
        std::abort();
      }
    }
  }
  auto file = credvault::crypto::ParseWrappedKeyFile(text);
  if (file.ok()) {
    auto again = credvault::crypto::ParseWrappedKeyFile(credvault::crypto::FormatWrappedKeyFile(*file));
    if (!again.ok() || again->wrapped != file->wrapped || again->kid != file->kid) std::abort();
  }
  return 0;
}
