// The keyring's internals that credvault itself uses but the public API
// (include/credvault/keyring.hpp) does not offer.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "credvault/keyring.hpp"

namespace credvault::crypto {

class KeyringAccess {
 public:
  static StatusOr<std::size_t> DecryptInto(const Keyring& ring, std::string_view value, const ValueContext& context,
                                           SecretBytes& scratch);
  // crypto/blind_index.hpp's, from the index keys the ring holds.
  static StatusOr<std::string> ClientIdIndex(const Keyring& ring, std::string_view kid, std::string_view client_id);
  static std::vector<std::string> ClientIdIndexUnderEveryKey(const Keyring& ring, std::string_view client_id);
};

// As Keyring::Decrypt, into `scratch` (grown when too small): no allocation
// per value for the row jobs. Returns the plaintext length; the plaintext is
// scratch.data()[0, length).
inline StatusOr<std::size_t> DecryptInto(const Keyring& ring, std::string_view value, const ValueContext& context,
                                         SecretBytes& scratch) {
  return KeyringAccess::DecryptInto(ring, value, context, scratch);
}

}  // namespace credvault::crypto
