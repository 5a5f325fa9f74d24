// The blind index of client_id: the worked example of docs/FORMAT.md, one
// value per key of the ring, and the shape check.
#include <catch2/catch.hpp>

#include <set>

#include "credvault/keyring.hpp"
#include "credvault/reasons.hpp"
#include "crypto/blind_index.hpp"

using namespace credvault;

namespace {

constexpr const char* kExampleKey = "base64:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
constexpr const char* kExampleClientId = "amzn1.application-oa2-client.0123456789abcdef0123456789abcdef";

Keyring Ring(const std::string& primary, const std::vector<std::string>& fallbacks = {}) {
  std::vector<KeySpec> specs;
  for (const auto& text : fallbacks) specs.push_back(KeySpec{SecretBytes::FromString(text), "fallback"});
  auto ring = Keyring::Create(KeySpec{SecretBytes::FromString(primary), "primary"}, std::move(specs));
  REQUIRE(ring.ok());
  return *ring;
}

}  // namespace

TEST_CASE("the blind index of client_id is the worked example of FORMAT.md", "[blind_index]") {
  const Keyring ring = Ring(kExampleKey);
  CHECK(crypto::PrimaryClientIdIndex(ring, kExampleClientId) == "e2eb3ad8:aZ0fOZMkF6XA_T9HvPe4dQ");
  auto under_kid = crypto::ClientIdIndex(ring, "e2eb3ad8", kExampleClientId);
  REQUIRE(under_kid.ok());
  CHECK(*under_kid == "e2eb3ad8:aZ0fOZMkF6XA_T9HvPe4dQ");
  CHECK(under_kid->size() == crypto::kClientIdIndexLength);
}

TEST_CASE("the blind index is exact, keyed and tagged with its kid", "[blind_index]") {
  const std::string other_key(40, 'k');
  const Keyring ring = Ring(kExampleKey, {other_key});
  const auto every = crypto::ClientIdIndexUnderEveryKey(ring, kExampleClientId);
  REQUIRE(every.size() == 2);
  CHECK(every[0] == crypto::PrimaryClientIdIndex(ring, kExampleClientId));
  CHECK(crypto::ClientIdIndexKid(every[0]) == ring.primary_kid());
  CHECK(crypto::ClientIdIndexKid(every[1]) == ring.keys()[1].kid);
  CHECK(every[0].substr(9) != every[1].substr(9));  // another key, another MAC

  std::set<std::string> seen;
  for (const char* id : {"amzn1.a", "amzn1.A", "amzn1.a ", ""}) seen.insert(crypto::PrimaryClientIdIndex(ring, id));
  CHECK(seen.size() == 4);  // no normalization

  auto unknown = crypto::ClientIdIndex(ring, "00000000", kExampleClientId);
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.status().reason() == reason::kUnknownKid);
}

TEST_CASE("ClientIdIndexKid accepts only the index shape", "[blind_index]") {
  CHECK(crypto::ClientIdIndexKid("e2eb3ad8:aZ0fOZMkF6XA_T9HvPe4dQ") == "e2eb3ad8");
  CHECK(crypto::ClientIdIndexKid("E2EB3AD8:aZ0fOZMkF6XA_T9HvPe4dQ").empty());
  CHECK(crypto::ClientIdIndexKid("e2eb3ad8:aZ0fOZMkF6XA_T9HvPe4d").empty());
  CHECK(crypto::ClientIdIndexKid("e2eb3ad8:aZ0fOZMkF6XA_T9HvPe4d=").empty());
  CHECK(crypto::ClientIdIndexKid("e2eb3ad8-aZ0fOZMkF6XA_T9HvPe4dQ").empty());
  CHECK(crypto::ClientIdIndexKid("").empty());
}
