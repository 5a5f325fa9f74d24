// The keyring's internals that credvault itself uses but the public API
// (include/credvault/keyring.hpp) does not offer.
#pragma once

#include <cstddef>
#include <string_view>

#include "credvault/keyring.hpp"

namespace credvault::crypto {

class KeyringAccess {
 public:
  static StatusOr<std::size_t> DecryptInto(const Keyring& ring, std::string_view value, const ValueContext& context,
                                           SecretBytes& scratch);
};

// As Keyring::Decrypt, into `scratch` (grown when too small): no allocation
// per value for the row jobs. Returns the plaintext length; the plaintext is
// scratch.data()[0, length).
inline StatusOr<std::size_t> DecryptInto(const Keyring& ring, std::string_view value, const ValueContext& context,
                                         SecretBytes& scratch) {
  return KeyringAccess::DecryptInto(ring, value, context, scratch);
}

}  // namespace credvault::crypto
