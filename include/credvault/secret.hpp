// SecretBytes: the one type that holds key material and decrypted plaintext.
//
// The bytes live in sodium_malloc'd memory (guard pages, mlock'ed where the
// process is allowed to), are zeroized when the object dies, and cannot be
// copied by accident: copying is the explicit Clone(). Moving leaves the
// source empty.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "credvault/export.h"

namespace credvault {

class CREDVAULT_EXPORT SecretBytes {
 public:
  SecretBytes() noexcept = default;
  // `size` zero bytes.
  explicit SecretBytes(std::size_t size);
  // A copy of [data, data + size).
  SecretBytes(const void* data, std::size_t size);
  static SecretBytes FromString(std::string_view text) { return SecretBytes(text.data(), text.size()); }

  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  ~SecretBytes();

  std::uint8_t* data() { return data_; }
  const std::uint8_t* data() const { return data_; }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // The bytes as characters, valid while this object lives and is unchanged.
  std::string_view view() const { return {reinterpret_cast<const char*>(data_), size_}; }

  SecretBytes Clone() const { return SecretBytes(data_, size_); }
  // Constant-time comparison of contents (lengths are not secret).
  bool Equals(const SecretBytes& other) const;
  bool Equals(std::string_view other) const;

 private:
  void Release() noexcept;

  std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace credvault
