// The table-driven base64url codec the row jobs lean on agrees with
// libsodium's constant-time one, which it replaced for speed.
#include <catch2/catch.hpp>
#include <sodium.h>

#include <optional>
#include <random>
#include <string>

#include "credvault/envelope.hpp"
#include "crypto/base64url.hpp"

using namespace credvault;

namespace {

// libsodium's answer: the bytes, or nullopt when it refuses the text.
std::optional<std::string> SodiumDecode(const std::string& text) {
  std::string out(text.size(), '\0');
  std::size_t written = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(), text.size(), nullptr,
                        &written, &end, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
      end != text.data() + text.size()) {
    return std::nullopt;
  }
  out.resize(written);
  return out;
}

}  // namespace

TEST_CASE("Base64UrlDecode gives libsodium's answer on random text, canonical or not", "[jobs][codec]") {
  REQUIRE(sodium_init() >= 0);
  std::mt19937 random(20260215);
  // A small alphabet with the chars whose low bits matter, and some outsiders.
  const std::string chars = "AQgwBRhx-_09az+/=. ";
  std::size_t accepted = 0, refused = 0;
  for (int round = 0; round < 200000; ++round) {
    std::string text(random() % 13, ' ');
    for (char& c : text) c = chars[random() % chars.size()];
    INFO("text '" << text << "'");
    auto ours = crypto::Base64UrlDecode(text);
    auto theirs = SodiumDecode(text);
    REQUIRE(ours.ok() == theirs.has_value());
    if (ours.ok()) {
      REQUIRE(*ours == *theirs);
      ++accepted;
    } else {
      ++refused;
    }
  }
  CHECK(accepted > 1000);
  CHECK(refused > 1000);
}

TEST_CASE("Base64UrlDecode inverts Base64UrlEncode for every length up to 600 bytes", "[jobs][codec]") {
  std::mt19937 random(7);
  for (std::size_t size = 0; size <= 600; ++size) {
    std::string bytes(size, '\0');
    for (char& c : bytes) c = static_cast<char>(random());
    const std::string text = crypto::Base64UrlEncode(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    auto decoded = crypto::Base64UrlDecode(text);
    REQUIRE(decoded.ok());
    REQUIRE(*decoded == bytes);
  }
}

TEST_CASE("Base64UrlEncode gives libsodium's text for every length up to 600 bytes", "[jobs][codec]") {
  REQUIRE(sodium_init() >= 0);
  std::mt19937 random(11);
  for (std::size_t size = 0; size <= 600; ++size) {
    std::string bytes(size, '\0');
    for (char& c : bytes) c = static_cast<char>(random());
    const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
    std::string expected(sodium_base64_ENCODED_LEN(size, sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
    sodium_bin2base64(expected.data(), expected.size(), data, size, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    expected.resize(expected.size() - 1);  // the terminating NUL
    REQUIRE(crypto::Base64UrlEncode(data, size) == expected);
  }
}
