#include <sodium.h>

#include <atomic>
#include <cstring>
#include <new>

#include "credvault/secret.hpp"
#include "crypto/secret_release_hook.hpp"

namespace credvault {
namespace {

std::atomic<crypto::SecretReleaseHook> g_release_hook{nullptr};

std::uint8_t* AllocateSecret(std::size_t size) {
  if (size == 0) return nullptr;
  if (sodium_init() < 0) throw std::bad_alloc();
  // sodium_malloc: guard pages around the buffer, mlock where permitted.
  void* p = sodium_malloc(size);
  if (p == nullptr) throw std::bad_alloc();
  return static_cast<std::uint8_t*>(p);
}

}  // namespace

SecretBytes::SecretBytes(std::size_t size) : data_(AllocateSecret(size)), size_(size) {
  if (size_ > 0) sodium_memzero(data_, size_);
}

SecretBytes::SecretBytes(const void* data, std::size_t size) : data_(AllocateSecret(size)), size_(size) {
  if (size_ > 0) std::memcpy(data_, data, size_);
}

SecretBytes::SecretBytes(SecretBytes&& other) noexcept : data_(other.data_), size_(other.size_) {
  other.data_ = nullptr;
  other.size_ = 0;
}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    Release();
    data_ = other.data_;
    size_ = other.size_;
    other.data_ = nullptr;
    other.size_ = 0;
  }
  return *this;
}

SecretBytes::~SecretBytes() { Release(); }

void SecretBytes::Release() noexcept {
  if (data_ == nullptr) return;
  sodium_memzero(data_, size_);
  if (crypto::SecretReleaseHook hook = g_release_hook.load()) hook(data_, size_);
  sodium_free(data_);  // zeroizes again and unlocks
  data_ = nullptr;
  size_ = 0;
}

bool SecretBytes::Equals(const SecretBytes& other) const {
  return Equals(other.view());
}

bool SecretBytes::Equals(std::string_view other) const {
  if (other.size() != size_) return false;
  if (size_ == 0) return true;
  return sodium_memcmp(data_, other.data(), size_) == 0;
}

void crypto::SetSecretReleaseHookForTesting(SecretReleaseHook hook) { g_release_hook.store(hook); }

}  // namespace credvault
