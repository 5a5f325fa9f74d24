#include "crypto/pkcs11_token.hpp"

#include <dlfcn.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <p11-kit/pkcs11.h>

#include "common/status_macros.hpp"
#include "crypto/key_file.hpp"

namespace credvault::crypto {
namespace {

std::string Rv(CK_RV rv) {
  char text[32];
  std::snprintf(text, sizeof text, "CKR 0x%lx", static_cast<unsigned long>(rv));
  return text;
}

// A blank-padded fixed-width PKCS#11 label, trimmed.
std::string Label(const unsigned char* field, std::size_t width) {
  std::string out(reinterpret_cast<const char*>(field), width);
  while (!out.empty() && (out.back() == ' ' || out.back() == '\0')) out.pop_back();
  return out;
}

StatusOr<SecretBytes> PinFromSource(const std::string& source) {
  std::string path = source;
  if (path.rfind("file:", 0) == 0) path = path.substr(5);
  auto content = ReadKeyFile(path);
  if (!content.ok()) return content.status().Annotate("pin-source");
  std::size_t size = content->size();
  while (size > 0 && (content->data()[size - 1] == '\n' || content->data()[size - 1] == '\r')) --size;
  return SecretBytes(content->data(), size);
}

// The data key as a PKCS#11 object, for wrapping it (with its bytes) and
// unwrapping into it (without): a generic secret that lives only in this
// session (not on the token) and that may be read back (extractable, not
// sensitive). One definition, so wrap and unwrap never disagree. The
// attributes point into the object: not copyable.
class DataKeyTemplate {
 public:
  explicit DataKeyTemplate(const SecretBytes* value = nullptr)
      : attributes_{{CKA_CLASS, &class_, sizeof class_},
                    {CKA_KEY_TYPE, &type_, sizeof type_},
                    {CKA_TOKEN, &no_, sizeof no_},
                    {CKA_EXTRACTABLE, &yes_, sizeof yes_},
                    {CKA_SENSITIVE, &no_, sizeof no_},
                    {CKA_VALUE, value ? const_cast<std::uint8_t*>(value->data()) : nullptr,
                     value ? value->size() : 0}},
        count_(value ? 6 : 5) {}
  DataKeyTemplate(const DataKeyTemplate&) = delete;
  DataKeyTemplate& operator=(const DataKeyTemplate&) = delete;

  CK_ATTRIBUTE_PTR attributes() { return attributes_; }
  CK_ULONG count() const { return count_; }

 private:
  CK_OBJECT_CLASS class_ = CKO_SECRET_KEY;
  CK_KEY_TYPE type_ = CKK_GENERIC_SECRET;
  CK_BBOOL yes_ = CK_TRUE, no_ = CK_FALSE;
  CK_ATTRIBUTE attributes_[6];
  CK_ULONG count_;
};

}  // namespace

StatusOr<std::string> TrustedModulePath(const std::string& path) {
  const std::string what = "PKCS#11 module-path " + path;
  if (path.empty() || path.front() != '/') {
    return PermissionDeniedError(what + " is refused: a module-path in a pkcs11: URI must be an absolute path "
                                 "(or set CREDVAULT_PKCS11_MODULE)");
  }
  char* resolved_c = realpath(path.c_str(), nullptr);
  if (resolved_c == nullptr) return NotFoundError("cannot load " + what + ": " + std::strerror(errno));
  const std::string resolved(resolved_c);
  std::free(resolved_c);
  // The file and every folder above it: owned by root, writable by root only.
  for (std::string at = resolved; !at.empty(); at = at.substr(0, std::max<std::size_t>(at.rfind('/'), 1))) {
    struct stat st {};
    if (stat(at.c_str(), &st) != 0) return NotFoundError("cannot load " + what + ": " + std::strerror(errno));
    if (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
      return PermissionDeniedError(what + " is refused: " + at +
                                   " must be owned by root and writable by no one else (whoever can replace a "
                                   "module runs code inside credvault); or set CREDVAULT_PKCS11_MODULE");
    }
    if (at == "/") break;
  }
  struct stat st {};
  if (stat(resolved.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return PermissionDeniedError(what + " is refused: not a regular file");
  }
  return resolved;
}

namespace {

// The module to load: the URI's module-path when given (it comes from a file,
// wrapped:, or argv: trusted only when no one but root could have put code
// there), else the configured one (CREDVAULT_PKCS11_MODULE: the operator's).
StatusOr<std::string> ChooseModule(const Pkcs11Uri& uri, const std::string& module_path) {
  if (!uri.module_path.empty()) return TrustedModulePath(uri.module_path);
  if (module_path.empty()) {
    return NotFoundError("no PKCS#11 module: set CREDVAULT_PKCS11_MODULE or module-path in the pkcs11: URI");
  }
  return module_path;
}

}  // namespace

struct Pkcs11Kek::Impl {
  void* module = nullptr;
  CK_FUNCTION_LIST_PTR f = nullptr;
  bool initialized = false;
  CK_SESSION_HANDLE session = CK_INVALID_HANDLE;
  CK_OBJECT_HANDLE kek = CK_INVALID_HANDLE;
  std::string token;

  ~Impl() {
    if (session != CK_INVALID_HANDLE) {
      f->C_Logout(session);
      f->C_CloseSession(session);
    }
    if (initialized) f->C_Finalize(nullptr);
    if (module != nullptr) dlclose(module);
  }
};

Pkcs11Kek::Pkcs11Kek(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Pkcs11Kek::~Pkcs11Kek() = default;

StatusOr<std::unique_ptr<Pkcs11Kek>> Pkcs11Kek::Open(const Pkcs11Uri& uri, const std::string& module_path,
                                                     const SecretBytes& pin) {
  CV_ASSIGN_OR_RETURN(const std::string path, ChooseModule(uri, module_path));
  auto impl = std::make_unique<Impl>();
  impl->token = uri.token;
  impl->module = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (impl->module == nullptr) return NotFoundError("cannot load PKCS#11 module " + path + ": " + dlerror());
  auto get_list = reinterpret_cast<CK_C_GetFunctionList>(dlsym(impl->module, "C_GetFunctionList"));
  if (get_list == nullptr || get_list(&impl->f) != CKR_OK || impl->f == nullptr) {
    return NotFoundError(path + " is not a PKCS#11 module (no C_GetFunctionList)");
  }
  CK_C_INITIALIZE_ARGS args;
  std::memset(&args, 0, sizeof args);
  args.flags = CKF_OS_LOCKING_OK;
  CK_RV rv = impl->f->C_Initialize(&args);
  if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
    return NotFoundError("PKCS#11 module " + path + " failed to initialize (" + Rv(rv) + ")");
  }
  impl->initialized = rv == CKR_OK;

  CK_ULONG count = 0;
  rv = impl->f->C_GetSlotList(CK_TRUE, nullptr, &count);
  std::vector<CK_SLOT_ID> slots(count);
  if (rv == CKR_OK && count > 0) rv = impl->f->C_GetSlotList(CK_TRUE, slots.data(), &count);
  if (rv != CKR_OK) return NotFoundError("PKCS#11: cannot list slots (" + Rv(rv) + ")");
  slots.resize(count);
  std::optional<CK_SLOT_ID> slot;
  for (CK_SLOT_ID candidate : slots) {
    CK_TOKEN_INFO info;
    if (impl->f->C_GetTokenInfo(candidate, &info) != CKR_OK) continue;
    if (Label(info.label, sizeof info.label) != uri.token) continue;
    if (!uri.serial.empty() && Label(info.serialNumber, sizeof info.serialNumber) != uri.serial) continue;
    slot = candidate;
    break;
  }
  if (!slot) return NotFoundError("PKCS#11: no token labelled '" + uri.token + "' in module " + path);

  rv = impl->f->C_OpenSession(*slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr, &impl->session);
  if (rv != CKR_OK) return NotFoundError("PKCS#11: cannot open a session on token '" + uri.token + "' (" + Rv(rv) + ")");
  SecretBytes pin_from_file;
  const SecretBytes* login_pin = &pin;
  if (!uri.pin_source.empty()) {
    CV_ASSIGN_OR_RETURN(pin_from_file, PinFromSource(uri.pin_source));
    login_pin = &pin_from_file;
  }
  if (login_pin->empty()) {
    return PermissionDeniedError("PKCS#11: no PIN for token '" + uri.token +
                                 "': set CREDVAULT_PKCS11_PIN or pin-source in the pkcs11: URI");
  }
  rv = impl->f->C_Login(impl->session, CKU_USER, const_cast<CK_UTF8CHAR_PTR>(login_pin->data()), login_pin->size());
  if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LOCKED || rv == CKR_PIN_INVALID || rv == CKR_PIN_LEN_RANGE) {
    return PermissionDeniedError("PKCS#11: token '" + uri.token + "' refused the PIN (" +
                                 (rv == CKR_PIN_LOCKED ? std::string("PIN locked") : std::string("wrong PIN")) + ")");
  }
  if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
    return PermissionDeniedError("PKCS#11: login to token '" + uri.token + "' failed (" + Rv(rv) + ")");
  }

  CK_OBJECT_CLASS secret_key = CKO_SECRET_KEY;
  std::vector<CK_ATTRIBUTE> match = {{CKA_CLASS, &secret_key, sizeof secret_key}};
  std::string object = uri.object, id = uri.id;
  if (!object.empty()) match.push_back({CKA_LABEL, object.data(), object.size()});
  if (!id.empty()) match.push_back({CKA_ID, id.data(), id.size()});
  rv = impl->f->C_FindObjectsInit(impl->session, match.data(), match.size());
  CK_OBJECT_HANDLE found[2];
  CK_ULONG n = 0;
  if (rv == CKR_OK) rv = impl->f->C_FindObjects(impl->session, found, 2, &n);
  impl->f->C_FindObjectsFinal(impl->session);
  const std::string what = "key " + (object.empty() ? std::string("with the given id") : "'" + object + "'") +
                           " on token '" + uri.token + "'";
  if (rv != CKR_OK) return NotFoundError("PKCS#11: cannot search for the " + what + " (" + Rv(rv) + ")");
  if (n == 0) return NotFoundError("PKCS#11: no secret " + what);
  if (n > 1) return NotFoundError("PKCS#11: more than one secret " + what + "; add id= to the URI");
  impl->kek = found[0];
  return std::unique_ptr<Pkcs11Kek>(new Pkcs11Kek(std::move(impl)));
}

StatusOr<std::string> Pkcs11Kek::Wrap(const SecretBytes& data_key) {
  CK_FUNCTION_LIST_PTR f = impl_->f;
  DataKeyTemplate templ(&data_key);
  CK_OBJECT_HANDLE object = CK_INVALID_HANDLE;
  CK_RV rv = f->C_CreateObject(impl_->session, templ.attributes(), templ.count(), &object);
  if (rv != CKR_OK) return InvalidArgumentError("PKCS#11: cannot load the data key to wrap it (" + Rv(rv) + ")");
  CK_MECHANISM mechanism = {CKM_AES_KEY_WRAP_PAD, nullptr, 0};
  CK_ULONG size = 0;
  rv = f->C_WrapKey(impl_->session, &mechanism, impl_->kek, object, nullptr, &size);
  std::string wrapped(size, '\0');
  if (rv == CKR_OK) {
    rv = f->C_WrapKey(impl_->session, &mechanism, impl_->kek, object, reinterpret_cast<CK_BYTE_PTR>(wrapped.data()),
                      &size);
  }
  f->C_DestroyObject(impl_->session, object);
  if (rv != CKR_OK) {
    return InvalidArgumentError(std::string("PKCS#11: the KEK cannot wrap with ") + kWrapMechanism +
                                " (is it an AES key with CKA_WRAP?) (" + Rv(rv) + ")");
  }
  wrapped.resize(size);
  return wrapped;
}

StatusOr<SecretBytes> Pkcs11Kek::Unwrap(const std::string& wrapped) {
  CK_FUNCTION_LIST_PTR f = impl_->f;
  DataKeyTemplate templ;
  CK_MECHANISM mechanism = {CKM_AES_KEY_WRAP_PAD, nullptr, 0};
  CK_OBJECT_HANDLE object = CK_INVALID_HANDLE;
  std::string input = wrapped;
  CK_RV rv = f->C_UnwrapKey(impl_->session, &mechanism, impl_->kek, reinterpret_cast<CK_BYTE_PTR>(input.data()),
                            input.size(), templ.attributes(), templ.count(), &object);
  if (rv != CKR_OK) {
    return InvalidArgumentError("PKCS#11: the KEK on token '" + impl_->token +
                                "' cannot unwrap this key (another KEK, or a damaged file) (" + Rv(rv) + ")");
  }
  CK_ATTRIBUTE value = {CKA_VALUE, nullptr, 0};
  rv = f->C_GetAttributeValue(impl_->session, object, &value, 1);
  SecretBytes key(rv == CKR_OK ? value.ulValueLen : 0);
  if (rv == CKR_OK) {
    value.pValue = key.data();
    rv = f->C_GetAttributeValue(impl_->session, object, &value, 1);
  }
  f->C_DestroyObject(impl_->session, object);
  if (rv != CKR_OK) return InvalidArgumentError("PKCS#11: cannot read the unwrapped key (" + Rv(rv) + ")");
  return key;
}

}  // namespace credvault::crypto
