// Security review item 10 (SECURITY.md, "Security review (2026-12)"):
// secrets kept out of ordinary memory — the settings' environment lookup,
// put's JSON parser, the thread's AES-GCM context.
#include <catch2/catch.hpp>

#include <openssl/evp.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "cli/credentials_json.hpp"
#include "cli/settings.hpp"
#include "crypto/aead.hpp"
#include "support/test_support.hpp"

using namespace credvault;
using namespace credvault::testing;

TEST_CASE("settings: the process environment never hands out a key variable's value", "[seckeys][memory]") {
  const std::string primary = NewBase64Key(), fallback_a = NewBase64Key(), fallback_b = NewBase64Key();
  setenv("SECRET_KEY", primary.c_str(), 1);
  setenv("SECRET_KEY_FALLBACKS", (fallback_a + ",," + fallback_b).c_str(), 1);
  setenv("CREDVAULT_PKCS11_PIN", "HUNTER2-pin", 1);
  const cli::EnvLookup env = cli::ProcessEnvironment();
  const auto seen_primary = env("SECRET_KEY"), seen_fallbacks = env("SECRET_KEY_FALLBACKS"),
             seen_pin = env("CREDVAULT_PKCS11_PIN");
  auto settings = cli::ResolveSettings(cli::GlobalFlags{}, env);
  unsetenv("SECRET_KEY");
  unsetenv("SECRET_KEY_FALLBACKS");
  unsetenv("CREDVAULT_PKCS11_PIN");
  REQUIRE(seen_primary.has_value());
  CHECK(*seen_primary == "*");
  CHECK(*seen_fallbacks == "*,,*");
  CHECK(*seen_pin == "*");
  // The settings still know where the keys come from.
  REQUIRE(settings.ok());
  REQUIRE(settings->primary_key);
  CHECK(settings->primary_key->kind == cli::KeySource::Kind::kEnvironment);
  CHECK(settings->fallback_keys.size() == 3);
  CHECK(cli::KeyVariableShape("") == "");
  CHECK(cli::KeyVariableShape(",a,") == ",*,");
}

TEST_CASE("AES-GCM: the thread's cipher context keeps no key schedule after a value", "[seckeys][memory]") {
  SecretBytes key(32);
  for (std::size_t i = 0; i < key.size(); ++i) key.data()[i] = static_cast<std::uint8_t>(i + 1);
  auto aead = crypto::NewAead(Algorithm::kAes256Gcm, key.data());
  const std::uint8_t nonce[12] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2};
  const std::string zeros(32, '\0');
  std::vector<std::uint8_t> sealed(zeros.size() + 16);
  for (int round = 0; round < 2; ++round) {  // after a Seal, then after an Open
    if (round == 0) REQUIRE(aead->Seal(nonce, zeros, "", sealed.data()).ok());
    std::vector<std::uint8_t> opened(zeros.size());
    if (round == 1) {
      REQUIRE(aead->Open(nonce, {reinterpret_cast<const char*>(sealed.data()), sealed.size()}, "", opened.data()).ok());
    }
    // Encrypting zeros with whatever key the context holds gives its key stream:
    // the key's (= the sealed bytes) only if the schedule was kept.
    auto* ctx = static_cast<EVP_CIPHER_CTX*>(crypto::ThreadCipherContextForTesting());
    std::vector<std::uint8_t> stream(zeros.size());
    int length = 0;
    REQUIRE(EVP_EncryptInit_ex(ctx, nullptr, nullptr, nullptr, nonce) == 1);
    REQUIRE(EVP_EncryptUpdate(ctx, stream.data(), &length, reinterpret_cast<const unsigned char*>(zeros.data()),
                              static_cast<int>(zeros.size())) == 1);
    INFO("round " << round);
    CHECK_FALSE(std::equal(stream.begin(), stream.end(), sealed.begin()));
  }
}

TEST_CASE("put's JSON: a flat object of strings decoded into SecretBytes", "[seckeys][memory][put]") {
  auto parsed = cli::ParseCredentialsJson(
      "\xEF\xBB\xBF { \"client_id\" : \"a\\u00e9\\ud83d\\ude00\\\"\\\\\\/\\b\\f\\n\\r\\t\",\n\"refresh_token\":\"\xC3\xA9\"}\n");
  REQUIRE(parsed.ok());
  CHECK(parsed->size() == 2);
  CHECK(parsed->at("client_id").view() == "a\xC3\xA9\xF0\x9F\x98\x80\"\\/\b\f\n\r\t");
  CHECK(parsed->at("refresh_token").view() == "\xC3\xA9");
  CHECK(cli::ParseCredentialsJson("{}")->empty());
  const std::vector<std::pair<std::string, std::string>> refused = {
      {"", "not a JSON object"},
      {"[]", "not a JSON object"},
      {"\"client_id\"", "not a JSON object"},
      {"{\"client_id\": 42}", "values must be strings"},
      {"{\"client_id\": null}", "null is not accepted"},
      {"{\"client_id\": {}}", "nested objects"},
      {"{\"client_id\": []}", "arrays are not accepted"},
      {"{\"password\": \"SECRETVALUE\"}", "unknown field 'password'"},
      {"{\"client_id\": \"a\", \"client_id\": \"SECRETVALUE\"}", "given twice"},
      {"{\"client_id\": \"SECRETVALUE\"", "not valid JSON"},
      {"{\"client_id\": \"SECRETVALUE\"} x", "not valid JSON"},
      {"{\"client_id\": \"SECRET\nVALUE\"}", "not valid JSON"},
      {"{\"client_id\": \"SECRETVALUE\\x\"}", "not valid JSON"},
      {"{\"client_id\": \"SECRETVALUE\\udc00\"}", "not valid JSON"},
      {"{\"client_id\": \"SECRETVALUE\\ud800\"}", "not valid JSON"},
      {"{\"client_id\": \"SECRETVALUE\xC0\xAF\"}", "not valid JSON"},
      {"{\"client_id\": \"SECRETVALUE\xED\xA0\x80\"}", "not valid JSON"},
      {"{\"client_id\": \"SECRETVALUE\xF4\x90\x80\x80\"}", "not valid JSON"},
      {"{\"client_id\": \"SECRETVALUE\",}", "not valid JSON"},
      {"{\"client_id\" \"SECRETVALUE\"}", "not valid JSON"},
  };
  for (const auto& [input, expected] : refused) {
    INFO(input);
    auto result = cli::ParseCredentialsJson(input);
    REQUIRE_FALSE(result.ok());
    CHECK(result.status().message().find(expected) != std::string::npos);
    CHECK(result.status().message().find("SECRETVALUE") == std::string::npos);
    // Whatever this parser accepts or refuses, nlohmann agrees on what is JSON.
    if (expected == "not valid JSON") CHECK_FALSE(nlohmann::json::accept(input));
  }
}
