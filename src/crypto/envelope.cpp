#include "credvault/envelope.hpp"

#include "common/status_macros.hpp"
#include "credvault/reasons.hpp"
#include "crypto/base64url.hpp"
#include "crypto/stored_value.hpp"

#include <sodium.h>

#include <array>
#include <cstdint>

namespace credvault {
namespace {

constexpr std::string_view kPrefix = "cv1:";
constexpr std::size_t kKidLength = 8;
constexpr std::size_t kHeaderLength = 15;  // "cv1:x:" + 8 + ":"

Status Malformed(const char* reason, const std::string& message) {
  return InvalidArgumentError("not a valid credvault v1 value: " + message, reason);
}

// The base64url value of each byte, -1 outside the alphabet. The payload is
// ciphertext, which is public, so lookups need not be constant-time (unlike
// sodium_base642bin, which cost the row jobs a third of their CPU).
constexpr const char kBase64UrlAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr std::array<std::int8_t, 256> kBase64UrlValues = [] {
  std::array<std::int8_t, 256> table{};
  for (auto& entry : table) entry = -1;
  for (int i = 0; i < 64; ++i) table[static_cast<unsigned char>(kBase64UrlAlphabet[i])] = static_cast<std::int8_t>(i);
  return table;
}();

int Base64UrlValue(char c) { return kBase64UrlValues[static_cast<unsigned char>(c)]; }

// Checks alphabet, length and canonical trailing bits without decoding.
// Returns the decoded length, or an error reason.
StatusOr<std::size_t> CheckBase64Url(std::string_view text) {
  // Branch-free over the text (an invalid byte maps to -1, setting the sign
  // bit); the loop below only runs to name the fault.
  std::int8_t any_invalid = 0;
  for (char c : text) any_invalid |= kBase64UrlValues[static_cast<unsigned char>(c)];
  for (char c : any_invalid < 0 ? text : std::string_view()) {
    if (Base64UrlValue(c) >= 0) continue;
    if (c == '=') return Malformed(reason::kPadding, "payload has base64 padding ('='), which v1 forbids");
    return Malformed(reason::kBadBase64, "payload is not base64url");
  }
  const std::size_t rest = text.size() % 4;
  if (rest == 1) return Malformed(reason::kBadBase64, "payload has an impossible base64 length");
  if (rest != 0) {
    const int last = Base64UrlValue(text.back());
    const int unused_bits_mask = rest == 2 ? 0x0f : 0x03;
    if ((last & unused_bits_mask) != 0) return Malformed(reason::kBadBase64, "payload is not canonical base64url");
  }
  return text.size() / 4 * 3 + (rest == 0 ? 0 : rest - 1);
}

}  // namespace

std::size_t NonceLength(Algorithm alg) { return alg == Algorithm::kAes256Gcm ? 12 : 24; }

namespace {

// "cv1:<alg>:<kid>:" of `text`, checked; `end` is the index after its last ':'.
struct Header {
  Algorithm algorithm;
  std::string_view kid;
  std::size_t end;
};

StatusOr<Header> ParseHeader(std::string_view text) {
  if (!crypto::HasEnvelopePrefix(text)) {
    if (crypto::IsOtherVersion(text)) return Malformed(reason::kBadVersion, "unsupported format version");
    return Malformed(reason::kNotEnvelope, "no cv1: prefix");
  }
  // Exactly three ':' (the prefix holds the first). find() is memchr: a
  // rotation parses each value's header several times, and counting ':' in
  // a byte loop over the whole value cost 6 % of its client instructions
  // (callgrind, 20 000 rows).
  const std::size_t alg_end = text.find(':', kPrefix.size());
  const std::size_t kid_end = alg_end == std::string_view::npos ? alg_end : text.find(':', alg_end + 1);
  if (kid_end == std::string_view::npos || text.find(':', kid_end + 1) != std::string_view::npos) {
    return Malformed(reason::kBadStructure, "expected exactly 4 ':'-separated fields");
  }
  std::string_view alg = text.substr(kPrefix.size(), alg_end - kPrefix.size());
  if (alg != "x" && alg != "g") return Malformed(reason::kBadAlgorithm, "unknown algorithm");
  std::string_view kid = text.substr(alg_end + 1, kid_end - alg_end - 1);
  if (kid.size() != kKidLength) return Malformed(reason::kBadKid, "kid must be 8 lowercase hex characters");
  for (char c : kid) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return Malformed(reason::kBadKid, "kid must be 8 lowercase hex characters");
    }
  }
  return Header{static_cast<Algorithm>(alg[0]), kid, kid_end + 1};
}

}  // namespace

namespace crypto {

bool HasEnvelopePrefix(std::string_view value) { return value.substr(0, kPrefix.size()) == kPrefix; }

bool IsOtherVersion(std::string_view value) {
  if (value.size() < 4 || value[0] != 'c' || value[1] != 'v' || HasEnvelopePrefix(value)) return false;
  std::size_t i = 2;
  while (i < value.size() && value[i] >= '0' && value[i] <= '9') ++i;
  return i > 2 && i < value.size() && value[i] == ':';
}

std::string_view PeekKid(std::string_view value) {
  auto header = ParseHeader(value);
  return header.ok() ? header->kid : std::string_view();
}

ValueKind ClassifyValue(std::string_view text) {
  auto parsed = ParseEnvelope(text);
  if (parsed.ok()) return ValueKind::kCiphertext;
  // "cv<digits>:" of another version than 1 (reason bad_version) is no more
  // plaintext than a damaged cv1: value: encrypting it would launder it.
  if (HasEnvelopePrefix(text) || parsed.status().reason() == reason::kBadVersion) {
    return ValueKind::kMalformedEnvelope;
  }
  return ValueKind::kPlaintext;
}

}  // namespace crypto

StatusOr<Envelope> ParseEnvelope(std::string_view text) {
  CV_ASSIGN_OR_RETURN(Header header, ParseHeader(text));
  Envelope envelope{header.algorithm, header.kid, text.substr(0, header.end), text.substr(header.end)};
  CV_ASSIGN_OR_RETURN(std::size_t decoded, CheckBase64Url(envelope.payload));
  if (decoded < NonceLength(envelope.algorithm) + kTagLength) {
    return Malformed(reason::kTooShort, "payload shorter than nonce and tag");
  }
  return envelope;
}

std::string BuildAad(std::string_view header, const ValueContext& context) {
  std::string aad;
  aad.reserve(header.size() + context.table.size() + context.column.size() + context.row_key.size() + 2);
  aad.append(header).append(context.table).push_back('\0');
  aad.append(context.column).push_back('\0');
  aad.append(context.row_key);
  return aad;
}

std::size_t CiphertextLength(std::size_t plaintext_bytes, Algorithm alg) {
  const std::size_t raw = NonceLength(alg) + kTagLength + plaintext_bytes;
  return kHeaderLength + (4 * raw + 2) / 3;
}

std::size_t MaxPlaintextLength(std::size_t column_chars, Algorithm alg) {
  if (CiphertextLength(0, alg) > column_chars) return 0;
  std::size_t n = column_chars;  // an upper bound: the ciphertext is longer than the plaintext
  while (CiphertextLength(n, alg) > column_chars) --n;
  return n;
}

namespace crypto {

std::string Base64UrlEncode(const std::uint8_t* data, std::size_t size) {
  std::string out;
  AppendBase64Url(data, size, out);
  return out;
}

StatusOr<std::string> Base64UrlDecode(std::string_view text) {
  CV_ASSIGN_OR_RETURN(std::size_t decoded, CheckBase64Url(text));
  std::string out(decoded, '\0');
  DecodeCheckedBase64Url(text, reinterpret_cast<std::uint8_t*>(out.data()));
  return out;
}

void AppendBase64Url(const std::uint8_t* data, std::size_t size, std::string& appended_to) {
  // Encodes ciphertext (public), so a table lookup is fine; libsodium's
  // constant-time encoder was a sixth of a rotation's CPU.
  const std::size_t start = appended_to.size();
  appended_to.resize(start + (size * 4 + 2) / 3);
  char* out = appended_to.data() + start;
  std::size_t o = 0, i = 0;
  for (; i + 3 <= size; i += 3) {
    const std::uint32_t n = static_cast<std::uint32_t>(data[i]) << 16 | static_cast<std::uint32_t>(data[i + 1]) << 8 | data[i + 2];
    out[o++] = kBase64UrlAlphabet[n >> 18];
    out[o++] = kBase64UrlAlphabet[(n >> 12) & 63];
    out[o++] = kBase64UrlAlphabet[(n >> 6) & 63];
    out[o++] = kBase64UrlAlphabet[n & 63];
  }
  if (i < size) {
    std::uint32_t n = static_cast<std::uint32_t>(data[i]) << 16;
    if (i + 1 < size) n |= static_cast<std::uint32_t>(data[i + 1]) << 8;
    out[o++] = kBase64UrlAlphabet[n >> 18];
    out[o++] = kBase64UrlAlphabet[(n >> 12) & 63];
    if (i + 1 < size) out[o++] = kBase64UrlAlphabet[(n >> 6) & 63];
  }
}

std::size_t DecodeCheckedBase64Url(std::string_view text, std::uint8_t* out) {
  std::size_t o = 0, i = 0;
  for (; i + 4 <= text.size(); i += 4) {
    const std::uint32_t n = static_cast<std::uint32_t>(Base64UrlValue(text[i])) << 18 |
                            static_cast<std::uint32_t>(Base64UrlValue(text[i + 1])) << 12 |
                            static_cast<std::uint32_t>(Base64UrlValue(text[i + 2])) << 6 |
                            static_cast<std::uint32_t>(Base64UrlValue(text[i + 3]));
    out[o++] = static_cast<std::uint8_t>(n >> 16);
    out[o++] = static_cast<std::uint8_t>(n >> 8);
    out[o++] = static_cast<std::uint8_t>(n);
  }
  // A 2- or 3-char tail; CheckBase64Url refused a 1-char one.
  if (i < text.size()) {
    std::uint32_t n = static_cast<std::uint32_t>(Base64UrlValue(text[i])) << 18 |
                      static_cast<std::uint32_t>(Base64UrlValue(text[i + 1])) << 12;
    if (i + 2 < text.size()) n |= static_cast<std::uint32_t>(Base64UrlValue(text[i + 2])) << 6;
    out[o++] = static_cast<std::uint8_t>(n >> 16);
    if (i + 2 < text.size()) out[o++] = static_cast<std::uint8_t>(n >> 8);
  }
  return o;
}

}  // namespace crypto

}  // namespace credvault
