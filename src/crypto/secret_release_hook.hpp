// A test hook inside SecretBytes, kept out of the public API.
#pragma once

#include <cstddef>
#include <cstdint>

namespace credvault::crypto {

// Called with (pointer, size) after a SecretBytes' memory is zeroized and
// just before it is released, so tests can prove that zeroization happens.
// Not for production use; pass nullptr to remove.
using SecretReleaseHook = void (*)(const std::uint8_t* data, std::size_t size);
void SetSecretReleaseHookForTesting(SecretReleaseHook hook);

}  // namespace credvault::crypto
