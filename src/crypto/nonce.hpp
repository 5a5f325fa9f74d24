// Random nonces without a syscall per value.
#pragma once

#include <cstddef>
#include <cstdint>

namespace credvault::crypto {

// Fills `size` bytes (≤ 64) with random bytes from the OS CSPRNG, drawn in
// 4 KiB blocks per thread: one getrandom() call serves ~170 XChaCha nonces.
// Used bytes are wiped from the buffer; a forked child never reuses its
// parent's buffered bytes.
void FillRandomNonce(std::uint8_t* out, std::size_t size);

}  // namespace credvault::crypto
