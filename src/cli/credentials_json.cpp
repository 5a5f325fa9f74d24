#include "cli/credentials_json.hpp"

#include <cstdint>
#include <cstring>

#include "credvault/reasons.hpp"

namespace credvault::cli {
namespace {

bool IsKnownField(std::string_view name) {
  return name == "client_id" || name == "client_secret" || name == "refresh_token";
}

// Appends the UTF-8 encoding of `code_point` (< 0x110000, not a surrogate).
std::size_t EncodeUtf8(std::uint32_t code_point, std::uint8_t* out) {
  if (code_point < 0x80) {
    out[0] = static_cast<std::uint8_t>(code_point);
    return 1;
  }
  if (code_point < 0x800) {
    out[0] = static_cast<std::uint8_t>(0xC0 | (code_point >> 6));
    out[1] = static_cast<std::uint8_t>(0x80 | (code_point & 0x3F));
    return 2;
  }
  if (code_point < 0x10000) {
    out[0] = static_cast<std::uint8_t>(0xE0 | (code_point >> 12));
    out[1] = static_cast<std::uint8_t>(0x80 | ((code_point >> 6) & 0x3F));
    out[2] = static_cast<std::uint8_t>(0x80 | (code_point & 0x3F));
    return 3;
  }
  out[0] = static_cast<std::uint8_t>(0xF0 | (code_point >> 18));
  out[1] = static_cast<std::uint8_t>(0x80 | ((code_point >> 12) & 0x3F));
  out[2] = static_cast<std::uint8_t>(0x80 | ((code_point >> 6) & 0x3F));
  out[3] = static_cast<std::uint8_t>(0x80 | (code_point & 0x3F));
  return 4;
}

// Length of the well-formed UTF-8 sequence at `text[at]` (RFC 3629: no
// overlong forms, no surrogates, nothing past U+10FFFF); 0 if ill-formed.
std::size_t Utf8SequenceLength(std::string_view text, std::size_t at) {
  const auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(text[at + i]); };
  const std::uint8_t lead = byte(0);
  std::size_t length = 0;
  std::uint8_t low = 0x80, high = 0xBF;  // bounds of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;
    if (lead == 0xED) high = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;
  } else {
    return 0;
  }
  if (text.size() - at < length) return 0;
  if (byte(1) < low || byte(1) > high) return 0;
  for (std::size_t i = 2; i < length; ++i) {
    if (byte(i) < 0x80 || byte(i) > 0xBF) return 0;
  }
  return length;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

class Parser {
 public:
  explicit Parser(std::string_view input) : input_(input), scratch_(input.size() + 4) {}

  StatusOr<std::map<std::string, SecretBytes>> Run() {
    if (input_.substr(0, 3) == "\xEF\xBB\xBF") at_ = 3;  // a UTF-8 byte order mark
    SkipSpace();
    if (!Take('{')) return NotAnObject();
    std::map<std::string, SecretBytes> fields;
    SkipSpace();
    if (!Take('}')) {
      for (;;) {
        if (Peek() != '"') return Invalid();
        std::size_t length = 0;
        if (!ReadString(length)) return Invalid();
        std::string name(reinterpret_cast<const char*>(scratch_.data()), length);
        if (!IsKnownField(name)) {
          return Usage("unknown field '" + name.substr(0, 40) + "' (expected client_id, client_secret, refresh_token)");
        }
        if (fields.count(name) != 0) return Usage("field '" + name + "' given twice");
        SkipSpace();
        if (!Take(':')) return Invalid();
        SkipSpace();
        if (Peek() != '"') return NotAString();
        if (!ReadString(length)) return Invalid();
        fields.emplace(std::move(name), SecretBytes(scratch_.data(), length));
        SkipSpace();
        if (Take('}')) break;
        if (!Take(',')) return Invalid();
        SkipSpace();
      }
    }
    SkipSpace();
    if (at_ != input_.size()) return Invalid();
    return fields;
  }

 private:
  char Peek() const { return at_ < input_.size() ? input_[at_] : '\0'; }
  bool Take(char c) {
    if (at_ >= input_.size() || input_[at_] != c) return false;
    ++at_;
    return true;
  }
  void SkipSpace() {
    while (at_ < input_.size() && std::strchr(" \t\r\n", input_[at_]) != nullptr && input_[at_] != '\0') ++at_;
  }

  static Status Usage(std::string message) { return InvalidArgumentError(std::move(message), reason::kUsage); }
  Status Invalid() const { return Usage("stdin is not valid JSON (at byte " + std::to_string(at_ + 1) + ")"); }
  static Status NotAnObject() { return Usage("stdin is not a JSON object"); }
  Status NotAString() const {
    switch (Peek()) {
      case '{': return Usage("nested objects are not accepted");
      case '[': return Usage("arrays are not accepted");
      case 'n': return Usage("null is not accepted: leave the field out to keep its value");
      case 't': case 'f': case '-': case '0': case '1': case '2': case '3': case '4': case '5': case '6':
      case '7': case '8': case '9': return Usage("values must be strings");
      default: return Invalid();
    }
  }

  // Four hex digits after "\u" at at_; -1 if not.
  long ReadHex4() {
    if (input_.size() - at_ < 4) return -1;
    long value = 0;
    for (int i = 0; i < 4; ++i) {
      const int digit = HexValue(input_[at_ + i]);
      if (digit < 0) return -1;
      value = value * 16 + digit;
    }
    at_ += 4;
    return value;
  }

  // One escape after the backslash, decoded into scratch_ at `length`.
  bool ReadEscape(std::size_t& length) {
    if (at_ >= input_.size()) return false;
    const char c = input_[at_++];
    static constexpr std::string_view kFrom = "\"\\/bfnrt", kTo = "\"\\/\b\f\n\r\t";
    if (const std::size_t i = kFrom.find(c); i != std::string_view::npos && c != '\0') {
      scratch_.data()[length++] = static_cast<std::uint8_t>(kTo[i]);
      return true;
    }
    if (c != 'u') return false;
    long code_point = ReadHex4();
    if (code_point < 0 || (code_point >= 0xDC00 && code_point <= 0xDFFF)) return false;
    if (code_point >= 0xD800 && code_point <= 0xDBFF) {  // a high surrogate: its low half must follow
      if (!Take('\\') || !Take('u')) return false;
      const long low = ReadHex4();
      if (low < 0xDC00 || low > 0xDFFF) return false;
      code_point = 0x10000 + ((code_point - 0xD800) << 10) + (low - 0xDC00);
    }
    length += EncodeUtf8(static_cast<std::uint32_t>(code_point), scratch_.data() + length);
    return true;
  }

  // The string starting at the quote at at_, decoded into scratch_[0, length).
  bool ReadString(std::size_t& length) {
    length = 0;
    ++at_;  // the opening quote
    while (at_ < input_.size()) {
      const auto c = static_cast<std::uint8_t>(input_[at_]);
      if (c == '"') {
        ++at_;
        return true;
      }
      if (c < 0x20) return false;
      if (c == '\\') {
        ++at_;
        if (!ReadEscape(length)) return false;
      } else if (c < 0x80) {
        scratch_.data()[length++] = c;
        ++at_;
      } else {
        const std::size_t n = Utf8SequenceLength(input_, at_);
        if (n == 0) return false;
        std::memcpy(scratch_.data() + length, input_.data() + at_, n);
        length += n;
        at_ += n;
      }
    }
    return false;
  }

  std::string_view input_;
  std::size_t at_ = 0;
  SecretBytes scratch_;  // a decoded string is never longer than its JSON form
};

}  // namespace

StatusOr<std::map<std::string, SecretBytes>> ParseCredentialsJson(std::string_view input) {
  return Parser(input).Run();
}

}  // namespace credvault::cli
