#include "crypto/nonce.hpp"

#include <pthread.h>
#include <sodium.h>

#include <atomic>
#include <cstring>

namespace credvault::crypto {
namespace {

// Bumped in every forked child, so the child refills instead of reusing the
// parent's buffered bytes. (getpid() would cost the syscall we avoid.)
std::atomic<unsigned> g_fork_generation{1};

void OnForkChild() { g_fork_generation.fetch_add(1); }

const bool g_atfork_registered = [] {
  pthread_atfork(nullptr, nullptr, OnForkChild);
  return true;
}();

struct NonceBuffer {
  static constexpr std::size_t kSize = 4096;
  std::uint8_t bytes[kSize];
  std::size_t used = kSize;  // empty until first use
  unsigned generation = 0;

  ~NonceBuffer() { sodium_memzero(bytes, sizeof bytes); }
};

}  // namespace

void FillRandomNonce(std::uint8_t* out, std::size_t size) {
  (void)g_atfork_registered;
  thread_local NonceBuffer buffer;
  const unsigned generation = g_fork_generation.load(std::memory_order_relaxed);
  if (buffer.generation != generation || buffer.used + size > NonceBuffer::kSize) {
    randombytes_buf(buffer.bytes, NonceBuffer::kSize);
    buffer.used = 0;
    buffer.generation = generation;
  }
  std::memcpy(out, buffer.bytes + buffer.used, size);
  sodium_memzero(buffer.bytes + buffer.used, size);
  buffer.used += size;
}

}  // namespace credvault::crypto
