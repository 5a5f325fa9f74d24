#include "crypto/blind_index.hpp"

#include "crypto/keyring_access.hpp"

namespace credvault::crypto {

StatusOr<std::string> ClientIdIndex(const Keyring& ring, std::string_view kid, std::string_view client_id) {
  return KeyringAccess::ClientIdIndex(ring, kid, client_id);
}

std::string PrimaryClientIdIndex(const Keyring& ring, std::string_view client_id) {
  // The primary is always in its own ring.
  return *KeyringAccess::ClientIdIndex(ring, ring.primary_kid(), client_id);
}

std::vector<std::string> ClientIdIndexUnderEveryKey(const Keyring& ring, std::string_view client_id) {
  return KeyringAccess::ClientIdIndexUnderEveryKey(ring, client_id);
}

std::string_view ClientIdIndexKid(std::string_view index) {
  if (index.size() != kClientIdIndexLength || index[8] != ':') return {};
  for (char c : index.substr(0, 8)) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return {};
  }
  for (char c : index.substr(9)) {
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) return {};
  }
  return index.substr(0, 8);
}

}  // namespace credvault::crypto
