#include "crypto/pkcs11_uri.hpp"

#include <set>

#include "common/status_macros.hpp"

namespace credvault::crypto {
namespace {

constexpr std::string_view kScheme = "pkcs11:";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

StatusOr<std::string> PercentDecode(std::string_view text, std::string_view attribute) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size()) {
      return InvalidArgumentError("pkcs11: URI: attribute " + std::string(attribute) + " has a truncated %-escape");
    }
    const int high = HexValue(text[i + 1]), low = HexValue(text[i + 2]);
    if (high < 0 || low < 0) {
      return InvalidArgumentError("pkcs11: URI: attribute " + std::string(attribute) + " has a bad %-escape");
    }
    out += static_cast<char>(high * 16 + low);
    i += 2;
  }
  return out;
}

std::string PercentEncode(std::string_view text) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                       c == '.' || c == '_' || c == '~' || c == '/' || c == ':';
    if (plain) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// Calls `each(name, raw_value)` for every name=value in `part`, split on `separator`.
template <typename Each>
Status ForEachAttribute(std::string_view part, char separator, Each&& each) {
  while (!part.empty()) {
    const std::size_t end = part.find(separator);
    std::string_view attribute = part.substr(0, end);
    const std::size_t equals = attribute.find('=');
    if (equals == std::string_view::npos || equals == 0) {
      return InvalidArgumentError("pkcs11: URI: '" + std::string(attribute.substr(0, 40)) +
                                  "' is not name=value");
    }
    CV_RETURN_IF_ERROR(each(attribute.substr(0, equals), attribute.substr(equals + 1)));
    if (end == std::string_view::npos) break;
    part.remove_prefix(end + 1);
  }
  return Status::Ok();
}

}  // namespace

StatusOr<Pkcs11Uri> ParsePkcs11Uri(std::string_view text) {
  if (text.substr(0, kScheme.size()) != kScheme) {
    return InvalidArgumentError("a key-encryption key is named by a pkcs11: URI (pkcs11:token=...;object=...)");
  }
  text.remove_prefix(kScheme.size());
  const std::size_t question = text.find('?');
  const std::string_view path = text.substr(0, question);
  const std::string_view query = question == std::string_view::npos ? std::string_view() : text.substr(question + 1);
  Pkcs11Uri uri;
  std::set<std::string> seen;
  auto once = [&seen](std::string_view name) -> Status {
    if (!seen.insert(std::string(name)).second) {
      return InvalidArgumentError("pkcs11: URI: attribute " + std::string(name) + " is given twice");
    }
    return Status::Ok();
  };
  CV_RETURN_IF_ERROR(ForEachAttribute(path, ';', [&](std::string_view name, std::string_view raw) -> Status {
    CV_RETURN_IF_ERROR(once(name));
    CV_ASSIGN_OR_RETURN(std::string value, PercentDecode(raw, name));
    if (name == "token") {
      uri.token = value;
    } else if (name == "object") {
      uri.object = value;
    } else if (name == "id") {
      uri.id = value;
    } else if (name == "serial") {
      uri.serial = value;
    } else if (name == "type") {
      if (value != "secret-key") {
        return InvalidArgumentError("pkcs11: URI: a key-encryption key has type=secret-key (an AES key), not type=" +
                                    value.substr(0, 40));
      }
    } else {
      return InvalidArgumentError("pkcs11: URI: unknown path attribute '" + std::string(name.substr(0, 40)) +
                                  "' (credvault uses token, object, id, serial, type)");
    }
    return Status::Ok();
  }));
  CV_RETURN_IF_ERROR(ForEachAttribute(query, '&', [&](std::string_view name, std::string_view raw) -> Status {
    CV_RETURN_IF_ERROR(once(name));
    if (name == "pin-value") {
      return InvalidArgumentError(
          "pkcs11: URI: pin-value is refused: a PIN in a URI ends up in key files and command lines; use "
          "pin-source=FILE or CREDVAULT_PKCS11_PIN");
    }
    CV_ASSIGN_OR_RETURN(std::string value, PercentDecode(raw, name));
    if (name == "module-path") {
      uri.module_path = value;
    } else if (name == "pin-source") {
      uri.pin_source = value;
    } else {
      return InvalidArgumentError("pkcs11: URI: unknown query attribute '" + std::string(name.substr(0, 40)) +
                                  "' (credvault uses module-path, pin-source)");
    }
    return Status::Ok();
  }));
  if (uri.token.empty()) return InvalidArgumentError("pkcs11: URI: token=LABEL is required");
  if (uri.object.empty() && uri.id.empty()) {
    return InvalidArgumentError("pkcs11: URI: object=LABEL or id=... is required to name the key");
  }
  return uri;
}

std::string FormatPkcs11Uri(const Pkcs11Uri& uri) {
  std::string out = std::string(kScheme) + "token=" + PercentEncode(uri.token);
  if (!uri.object.empty()) out += ";object=" + PercentEncode(uri.object);
  if (!uri.id.empty()) out += ";id=" + PercentEncode(uri.id);
  if (!uri.serial.empty()) out += ";serial=" + PercentEncode(uri.serial);
  std::string query;
  if (!uri.module_path.empty()) query += "module-path=" + PercentEncode(uri.module_path);
  if (!uri.pin_source.empty()) query += std::string(query.empty() ? "" : "&") + "pin-source=" + PercentEncode(uri.pin_source);
  if (!query.empty()) out += "?" + query;
  return out;
}

}  // namespace credvault::crypto
