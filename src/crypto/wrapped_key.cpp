#include "crypto/wrapped_key.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/status_macros.hpp"
#include "credvault/keyring.hpp"
#include "crypto/key_file.hpp"
#include "crypto/pkcs11_token.hpp"

namespace credvault::crypto {
namespace {

constexpr std::size_t kDataKeySize = 32;
constexpr std::string_view kMagic = "credvault-wrapped-key";

Status BadFile(std::size_t line, const std::string& what) {
  return InvalidArgumentError("wrapped key file, line " + std::to_string(line) + ": " + what);
}

std::string Base64(std::string_view bytes) {
  std::string out(sodium_base64_encoded_len(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  out.resize(std::strlen(out.c_str()));
  return out;
}

// "base64:<data key>" in SecretBytes: the form ParseKeyMaterial takes.
SecretBytes KeyText(const SecretBytes& data_key) {
  const std::size_t encoded = sodium_base64_encoded_len(data_key.size(), sodium_base64_VARIANT_ORIGINAL);
  SecretBytes text(7 + encoded);
  std::memcpy(text.data(), "base64:", 7);
  sodium_bin2base64(reinterpret_cast<char*>(text.data()) + 7, encoded, data_key.data(), data_key.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  return SecretBytes(text.data(), 7 + encoded - 1);  // without the NUL
}

StatusOr<std::string> KidOfDataKey(const SecretBytes& data_key) {
  CV_ASSIGN_OR_RETURN(SecretBytes ikm, ParseKeyMaterial(KeyText(data_key).view()));
  return DeriveKid(ikm);
}

StatusOr<std::unique_ptr<Pkcs11Kek>> OpenKek(const std::string& uri_text, const KeySourceOptions& options) {
  CV_ASSIGN_OR_RETURN(Pkcs11Uri uri, ParsePkcs11Uri(uri_text));
  return Pkcs11Kek::Open(uri, options.pkcs11_module, options.pkcs11_pin);
}

StatusOr<WrappedKeyFile> ReadWrappedKeyFile(const std::string& path) {
  CV_ASSIGN_OR_RETURN(SecretBytes content, ReadKeyFile(path));
  auto parsed = ParseWrappedKeyFile(content.view());
  if (!parsed.ok()) return parsed.status().Annotate(path);
  return parsed;
}

// Writes `text` to `path` with mode 0600: a new file (O_EXCL), fsync'ed.
Status WriteFile0600(const std::string& path, const std::string& text) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return AlreadyExistsError(path + " already exists; a key file is never overwritten");
    return PermissionDeniedError("cannot create " + path + ": " + std::strerror(errno));
  }
  bool ok = fchmod(fd, 0600) == 0;
  std::size_t done = 0;
  while (ok && done < text.size()) {
    const ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<std::size_t>(n);
  }
  ok = ok && fsync(fd) == 0;
  close(fd);
  if (!ok) {
    unlink(path.c_str());
    return InternalError("cannot write " + path + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

}  // namespace

StatusOr<WrappedKeyFile> ParseWrappedKeyFile(std::string_view text) {
  WrappedKeyFile out;
  bool magic = false;
  std::size_t line_number = 0;
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    const std::size_t colon = line.find(": ");
    if (colon == std::string_view::npos) return BadFile(line_number, "expected 'name: value'");
    const std::string_view name = line.substr(0, colon), value = line.substr(colon + 2);
    std::string* field = nullptr;
    if (name == kMagic) {
      if (value != "1") return BadFile(line_number, "unsupported version (this credvault reads version 1)");
      magic = true;
      continue;
    }
    if (name == "kid") field = &out.kid;
    if (name == "kek") field = &out.kek_uri;
    if (name == "mechanism") field = &out.mechanism;
    std::string wrapped_text;
    if (name == "wrapped") field = &wrapped_text;
    if (field == nullptr) return BadFile(line_number, "unknown field '" + std::string(name.substr(0, 40)) + "'");
    if (name != "wrapped" && !field->empty()) return BadFile(line_number, std::string(name) + " given twice");
    *field = std::string(value);
    if (name == "wrapped") {
      if (!out.wrapped.empty()) return BadFile(line_number, "wrapped given twice");
      std::string bytes(value.size(), '\0');
      std::size_t length = 0;
      if (sodium_base642bin(reinterpret_cast<unsigned char*>(bytes.data()), bytes.size(), value.data(), value.size(),
                            nullptr, &length, nullptr, sodium_base64_VARIANT_ORIGINAL) != 0 ||
          length == 0) {
        return BadFile(line_number, "wrapped is not standard base64");
      }
      bytes.resize(length);
      out.wrapped = std::move(bytes);
    }
  }
  if (!magic) return InvalidArgumentError("not a credvault wrapped key file (no 'credvault-wrapped-key: 1' line)");
  if (out.kek_uri.empty() || out.mechanism.empty() || out.wrapped.empty()) {
    return InvalidArgumentError("wrapped key file: kek, mechanism and wrapped are required");
  }
  if (out.mechanism != kWrapMechanism) {
    return InvalidArgumentError("wrapped key file: mechanism " + out.mechanism.substr(0, 40) + " is not supported (" +
                                kWrapMechanism + ")");
  }
  if (!out.kid.empty()) {
    bool hex = out.kid.size() == 8;
    for (char c : out.kid) hex = hex && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
    if (!hex) return InvalidArgumentError("wrapped key file: kid must be 8 lowercase hex characters");
  }
  CV_RETURN_IF_ERROR(ParsePkcs11Uri(out.kek_uri).status().Annotate("wrapped key file: kek"));
  return out;
}

std::string FormatWrappedKeyFile(const WrappedKeyFile& file) {
  return "# credvault wrapped key: a data key wrapped by a key-encryption key in an HSM\n" + std::string(kMagic) +
         ": 1\nkid: " + file.kid + "\nkek: " + file.kek_uri + "\nmechanism: " + file.mechanism +
         "\nwrapped: " + Base64(file.wrapped) + "\n";
}

StatusOr<SecretBytes> UnwrapKeyFile(const std::string& path, const KeySourceOptions& options) {
  CV_ASSIGN_OR_RETURN(WrappedKeyFile file, ReadWrappedKeyFile(path));
  CV_ASSIGN_OR_RETURN(std::unique_ptr<Pkcs11Kek> kek, OpenKek(file.kek_uri, options));
  auto data_key = kek->Unwrap(file.wrapped);
  if (!data_key.ok()) return data_key.status().Annotate(path);
  if (data_key->size() != kDataKeySize) return InvalidArgumentError(path + ": the unwrapped key is not 32 bytes");
  CV_ASSIGN_OR_RETURN(std::string kid, KidOfDataKey(*data_key));
  if (!file.kid.empty() && kid != file.kid) {
    return InvalidArgumentError(path + ": unwrapped a key with kid " + kid + ", but the file records kid " + file.kid);
  }
  return KeyText(*data_key);
}

StatusOr<std::string> CreateWrappedKeyFile(const std::string& path, const std::string& kek_uri,
                                           const KeySourceOptions& options) {
  CV_ASSIGN_OR_RETURN(Pkcs11Uri uri, ParsePkcs11Uri(kek_uri));
  if (access(path.c_str(), F_OK) == 0) return AlreadyExistsError(path + " already exists; a key file is never overwritten");
  CV_ASSIGN_OR_RETURN(std::unique_ptr<Pkcs11Kek> kek, Pkcs11Kek::Open(uri, options.pkcs11_module, options.pkcs11_pin));
  SecretBytes data_key(kDataKeySize);
  randombytes_buf(data_key.data(), data_key.size());
  WrappedKeyFile file;
  CV_ASSIGN_OR_RETURN(file.kid, KidOfDataKey(data_key));
  CV_ASSIGN_OR_RETURN(file.wrapped, kek->Wrap(data_key));
  CV_ASSIGN_OR_RETURN(SecretBytes check, kek->Unwrap(file.wrapped));
  if (!check.Equals(data_key)) return InternalError("PKCS#11: the token unwrapped a different key than it wrapped");
  file.kek_uri = FormatPkcs11Uri(uri);
  file.mechanism = kWrapMechanism;
  CV_RETURN_IF_ERROR(WriteFile0600(path, FormatWrappedKeyFile(file)));
  return file.kid;
}

StatusOr<std::string> RewrapKeyFile(const std::string& path, const std::string& new_kek_uri,
                                    const KeySourceOptions& options) {
  CV_ASSIGN_OR_RETURN(Pkcs11Uri uri, ParsePkcs11Uri(new_kek_uri));
  CV_ASSIGN_OR_RETURN(WrappedKeyFile file, ReadWrappedKeyFile(path));
  SecretBytes data_key;
  {
    CV_ASSIGN_OR_RETURN(std::unique_ptr<Pkcs11Kek> old_kek, OpenKek(file.kek_uri, options));
    auto unwrapped = old_kek->Unwrap(file.wrapped);
    if (!unwrapped.ok()) return unwrapped.status().Annotate(path);
    data_key = std::move(unwrapped).value();
  }
  CV_ASSIGN_OR_RETURN(std::string kid, KidOfDataKey(data_key));
  if (!file.kid.empty() && kid != file.kid) {
    return InvalidArgumentError(path + ": unwrapped a key with kid " + kid + ", but the file records kid " + file.kid);
  }
  CV_ASSIGN_OR_RETURN(std::unique_ptr<Pkcs11Kek> new_kek, Pkcs11Kek::Open(uri, options.pkcs11_module, options.pkcs11_pin));
  WrappedKeyFile rewrapped{kid, FormatPkcs11Uri(uri), kWrapMechanism, ""};
  CV_ASSIGN_OR_RETURN(rewrapped.wrapped, new_kek->Wrap(data_key));
  CV_ASSIGN_OR_RETURN(SecretBytes check, new_kek->Unwrap(rewrapped.wrapped));
  if (!check.Equals(data_key)) return InternalError("PKCS#11: the new KEK unwrapped a different key than it wrapped");
  const std::string temporary = path + ".rewrap.tmp";
  unlink(temporary.c_str());
  CV_RETURN_IF_ERROR(WriteFile0600(temporary, FormatWrappedKeyFile(rewrapped)));
  if (rename(temporary.c_str(), path.c_str()) != 0) {
    const std::string error = std::strerror(errno);
    unlink(temporary.c_str());
    return InternalError("cannot replace " + path + ": " + error);
  }
  return kid;
}

}  // namespace credvault::crypto
