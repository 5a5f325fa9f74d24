// docs/FORMAT.md's Python snippet decrypts what C++ wrote, and C++ decrypts
// what an independent Python encryptor wrote (PyNaCl, python3-cryptography).
// The key reaches Python as a key file, read the way FORMAT.md says.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "credvault/keyring.hpp"
#include "support/test_support.hpp"

using credvault::Algorithm;
using credvault::Keyring;
using credvault::KeySpec;
using credvault::SecretBytes;
using credvault::ValueContext;

namespace {

// C++ values under the key in `key_file` → Python decrypts them and encrypts
// its own → C++ decrypts those.
void RoundTrip(const credvault::testing::TempDir& dir, const std::string& key_file) {
  const std::string key = credvault::testing::ReadFile(key_file);
  const char* const plaintexts[] = {"", "amzn1.application-oa2-client.0123456789abcdef0123456789abcdef",
                                    "amzn1.oa2-cs.v1.ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
                                    "Atzr|IwEBIA-with-|pipes|and\ttabs\nand newlines and ünïcödé"};
  const char* const columns[] = {"client_id", "client_secret", "refresh_token"};

  nlohmann::json in = {{"key_file", key_file}, {"values", nlohmann::json::array()}};
  for (Algorithm alg : {Algorithm::kXChaCha20Poly1305, Algorithm::kAes256Gcm}) {
    auto ring = Keyring::Create(KeySpec{SecretBytes::FromString(key), "test"}, {}, alg);
    REQUIRE(ring.ok());
    int account = 1;
    for (const char* plaintext : plaintexts) {
      for (const char* column : columns) {
        const std::string row_key = std::to_string(account);
        auto value = ring->Encrypt(plaintext, ValueContext{"credentials", column, row_key});
        REQUIRE(value.ok());
        in["values"].push_back({{"alg", std::string(1, static_cast<char>(alg))},
                                {"table", "credentials"},
                                {"column", column},
                                {"account_id", account},
                                {"plaintext", plaintext},
                                {"value", *value}});
        ++account;
      }
    }
  }
  const std::string in_path = dir.WriteFile("in.json", in.dump());
  const std::string out_path = dir.path() + "/out.json";
  const std::string command = "/usr/bin/python3 " + credvault::testing::SourceDir() + "/tests/scripts/format_interop.py " +
                              credvault::testing::SourceDir() + "/docs/FORMAT.md " + in_path + " " + out_path;
  REQUIRE(std::system(command.c_str()) == 0);

  auto out = nlohmann::json::parse(credvault::testing::ReadFile(out_path));
  REQUIRE(out["values"].size() == in["values"].size());
  auto ring = Keyring::Create(KeySpec{SecretBytes::FromString(key), "test"}, {});
  REQUIRE(ring.ok());
  for (const auto& item : out["values"]) {
    const std::string value = item["value"], column = item["column"], plaintext = item["plaintext"];
    const std::string row_key = std::to_string(item["account_id"].get<int>());
    INFO(item["alg"].get<std::string>() << " " << column << " " << row_key);
    // Python's values are fresh (random nonces), not copies of ours.
    CHECK(std::find_if(in["values"].begin(), in["values"].end(),
                       [&](const nlohmann::json& mine) { return mine["value"] == value; }) == in["values"].end());
    auto decrypted = ring->Decrypt(value, ValueContext{"credentials", column, row_key});
    REQUIRE(decrypted.ok());
    CHECK(decrypted->Equals(plaintext));
  }
}

}  // namespace

TEST_CASE("the FORMAT.md Python snippet and the C++ code read each other's values, key from a keygen file",
          "[format][python]") {
  credvault::testing::TempDir dir;
  const std::string key_file = dir.path() + "/primary.key";
  REQUIRE(credvault::testing::RunCli({"keygen", "--out", key_file}).exit_code == 0);
  const std::string content = credvault::testing::ReadFile(key_file);
  REQUIRE(content.rfind("base64:", 0) == 0);
  REQUIRE(content.back() == '\n');  // what the snippet has to cope with
  RoundTrip(dir, key_file);
}

TEST_CASE("the FORMAT.md Python snippet reads a passphrase key file written with CRLF line ends", "[format][python]") {
  credvault::testing::TempDir dir;
  // An existing SECRET_KEY kept in a file edited on Windows.
  const std::string key_file = dir.WriteFile("legacy.key", "an-existing-django-style-secret-key-of-48-bytes!!\r\n");
  RoundTrip(dir, key_file);
}
