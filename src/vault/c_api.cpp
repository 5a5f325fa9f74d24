// The C ABI of include/credvault/credvault.h over credvault::Vault.
#include "credvault/credvault.h"

#include <sodium.h>

#include <cstring>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include "credvault/key_source.hpp"
#include "credvault/reasons.hpp"
#include "credvault/vault.hpp"

struct credvault_vault {
  credvault::Vault vault;
};

// What credvault_open_with_options opens; credvault_open fills one too. Key
// texts stay in SecretBytes (zeroized when the options are destroyed).
struct credvault_options_t {
  std::string database_url;
  std::optional<credvault::SecretBytes> primary_key;
  std::vector<credvault::SecretBytes> fallback_keys;
  std::optional<credvault::Environment> environment;  // unset: VaultOptions' default
  std::optional<std::string> migrations_dir;          // unset: the installed migrations
  std::optional<std::size_t> max_connections;         // unset: VaultOptions' default
};

namespace {

thread_local std::string g_last_error;
// One of credvault::reason::kValue (static storage), or "": the C ABI names
// only why a stored value could not be used (credvault.h).
thread_local const char* g_last_reason = "";

const char* KnownReason(const std::string& reason) {
  for (const char* known : credvault::reason::kValue) {
    if (reason == known) return known;
  }
  return "";
}

int Fail(const credvault::Status& status) {
  g_last_error = status.message();
  g_last_reason = KnownReason(status.reason());
  return static_cast<int>(status.code());
}

int FailWith(int code, const char* message) {
  g_last_error = message;
  return code;
}

// Runs `body` with every exception turned into CREDVAULT_INTERNAL.
template <typename Body>
int Guard(Body&& body) noexcept {
  try {
    g_last_error.clear();
    g_last_reason = "";
    return body();
  } catch (const std::bad_alloc&) {
    return FailWith(CREDVAULT_INTERNAL, "out of memory");
  } catch (...) {
    return FailWith(CREDVAULT_INTERNAL, "unexpected internal error");
  }
}

// A NUL-terminated copy in zeroize-on-free memory (sodium_malloc).
char* SecretCString(const std::optional<credvault::SecretBytes>& value) {
  if (!value) return nullptr;
  auto* out = static_cast<char*>(sodium_malloc(value->size() + 1));
  if (out == nullptr) throw std::bad_alloc();
  if (!value->empty()) std::memcpy(out, value->data(), value->size());
  out[value->size()] = '\0';
  return out;
}

void FreeSecretCString(char* text) {
  if (text != nullptr) sodium_free(text);  // zeroizes
}

std::optional<std::string_view> OptionalView(const char* text) {
  if (text == nullptr) return std::nullopt;
  return std::string_view(text);
}

// The keyring of `given`: key sources (exec:, file:, wrapped:) are resolved
// here; a wrapped: key's KEK URI must carry module-path and pin-source (this
// ABI reads no environment variable).
credvault::StatusOr<credvault::Keyring> OptionsKeyring(const credvault_options_t& given) {
  const credvault::KeySourceOptions sources;
  std::vector<credvault::KeySpec> fallbacks;
  for (size_t i = 0; i < given.fallback_keys.size(); ++i) {
    const std::string name = "fallback key " + std::to_string(i + 1);
    auto key = credvault::ResolveKeySource(given.fallback_keys[i], sources);
    if (!key.ok()) return key.status().Annotate(name);
    fallbacks.push_back({std::move(key).value(), name});
  }
  auto primary = credvault::ResolveKeySource(*given.primary_key, sources);
  if (!primary.ok()) return primary.status().Annotate("primary key");
  return credvault::Keyring::Create({std::move(primary).value(), "primary key"}, std::move(fallbacks));
}

int OpenWith(const credvault_options_t& given, credvault_vault** out) {
  if (!given.primary_key) return FailWith(CREDVAULT_INVALID_ARGUMENT, "primary_key must not be NULL");
  auto keyring = OptionsKeyring(given);
  if (!keyring.ok()) return Fail(keyring.status());
  credvault::VaultOptions options;
  options.database_url = given.database_url;
  options.keyring = std::move(keyring).value();
  if (given.environment) options.environment = *given.environment;
  if (given.migrations_dir) options.migrations_dir = *given.migrations_dir;
  if (given.max_connections) options.max_connections = *given.max_connections;
  auto vault = credvault::Vault::Open(std::move(options));
  if (!vault.ok()) return Fail(vault.status());
  *out = new credvault_vault{std::move(vault).value()};
  return CREDVAULT_OK;
}

int SetEnvironment(credvault_options_t& options, const char* environment) {
  if (environment == nullptr) {
    options.environment.reset();
    return CREDVAULT_OK;
  }
  auto parsed = credvault::ParseEnvironment(environment);
  if (!parsed.ok()) return Fail(parsed.status());
  options.environment = *parsed;
  return CREDVAULT_OK;
}

int SetFallbackKeys(credvault_options_t& options, const char* const* keys, size_t n) {
  if (n > 0 && keys == nullptr) return FailWith(CREDVAULT_INVALID_ARGUMENT, "fallback_keys is NULL but n_fallback_keys > 0");
  std::vector<credvault::SecretBytes> copied;
  for (size_t i = 0; i < n; ++i) {
    if (keys[i] == nullptr) return FailWith(CREDVAULT_INVALID_ARGUMENT, "a fallback key is NULL");
    copied.push_back(credvault::SecretBytes::FromString(keys[i]));
  }
  options.fallback_keys = std::move(copied);
  return CREDVAULT_OK;
}

// Runs `set` on `options` under Guard, refusing a NULL options.
template <typename Set>
int SetOption(credvault_options_t* options, Set&& set) noexcept {
  return Guard([&]() -> int {
    if (options == nullptr) return FailWith(CREDVAULT_INVALID_ARGUMENT, "options must not be NULL");
    return set(*options);
  });
}

std::optional<std::string> OptionalString(const char* text) {
  if (text == nullptr) return std::nullopt;
  return std::string(text);
}

}  // namespace

extern "C" {

int credvault_open(const char* database_url, const char* primary_key, const char* const* fallback_keys,
                   size_t n_fallback_keys, const char* environment, const char* migrations_dir,
                   credvault_vault** out) {
  return Guard([&]() -> int {
    if (out == nullptr) return FailWith(CREDVAULT_INVALID_ARGUMENT, "out must not be NULL");
    *out = nullptr;
    credvault_options_t options;
    options.database_url = database_url != nullptr ? database_url : "";
    if (primary_key != nullptr) options.primary_key = credvault::SecretBytes::FromString(primary_key);
    if (int code = SetFallbackKeys(options, fallback_keys, n_fallback_keys); code != CREDVAULT_OK) return code;
    if (int code = SetEnvironment(options, environment); code != CREDVAULT_OK) return code;
    options.migrations_dir = OptionalString(migrations_dir);
    return OpenWith(options, out);
  });
}

credvault_options_t* credvault_options_create(void) { return new (std::nothrow) credvault_options_t(); }

void credvault_options_destroy(credvault_options_t* options) { delete options; }

int credvault_options_set_database_url(credvault_options_t* options, const char* database_url) {
  return SetOption(options, [&](credvault_options_t& o) -> int {
    o.database_url = database_url != nullptr ? database_url : "";
    return CREDVAULT_OK;
  });
}

int credvault_options_set_primary_key(credvault_options_t* options, const char* primary_key) {
  return SetOption(options, [&](credvault_options_t& o) -> int {
    o.primary_key.reset();
    if (primary_key != nullptr) o.primary_key = credvault::SecretBytes::FromString(primary_key);
    return CREDVAULT_OK;
  });
}

int credvault_options_set_fallback_keys(credvault_options_t* options, const char* const* fallback_keys,
                                        size_t n_fallback_keys) {
  return SetOption(options,
                   [&](credvault_options_t& o) { return SetFallbackKeys(o, fallback_keys, n_fallback_keys); });
}

int credvault_options_set_environment(credvault_options_t* options, const char* environment) {
  return SetOption(options, [&](credvault_options_t& o) -> int { return SetEnvironment(o, environment); });
}

int credvault_options_set_migrations_dir(credvault_options_t* options, const char* migrations_dir) {
  return SetOption(options, [&](credvault_options_t& o) -> int {
    o.migrations_dir = OptionalString(migrations_dir);
    return CREDVAULT_OK;
  });
}

int credvault_options_set_max_connections(credvault_options_t* options, size_t max_connections) {
  return SetOption(options, [&](credvault_options_t& o) -> int {
    if (max_connections == 0) return FailWith(CREDVAULT_INVALID_ARGUMENT, "max_connections must be at least 1");
    o.max_connections = max_connections;
    return CREDVAULT_OK;
  });
}

int credvault_open_with_options(const credvault_options_t* options, credvault_vault** out) {
  return Guard([&]() -> int {
    if (out == nullptr) return FailWith(CREDVAULT_INVALID_ARGUMENT, "out must not be NULL");
    *out = nullptr;
    if (options == nullptr) return FailWith(CREDVAULT_INVALID_ARGUMENT, "options must not be NULL");
    return OpenWith(*options, out);
  });
}

void credvault_close(credvault_vault* vault) { delete vault; }

int credvault_get(credvault_vault* vault, int64_t account_id, credvault_credentials** out) {
  return Guard([&]() -> int {
    if (vault == nullptr || out == nullptr) return FailWith(CREDVAULT_INVALID_ARGUMENT, "vault and out must not be NULL");
    *out = nullptr;
    auto credentials = vault->vault.GetCredentials(account_id);
    if (!credentials.ok()) return Fail(credentials.status());
    auto* result = new credvault_credentials{nullptr, nullptr, nullptr};
    try {
      result->client_id = SecretCString(credentials->client_id);
      result->client_secret = SecretCString(credentials->client_secret);
      result->refresh_token = SecretCString(credentials->refresh_token);
    } catch (...) {
      credvault_credentials_free(result);
      throw;
    }
    *out = result;
    return CREDVAULT_OK;
  });
}

void credvault_credentials_free(credvault_credentials* credentials) {
  if (credentials == nullptr) return;
  FreeSecretCString(credentials->client_id);
  FreeSecretCString(credentials->client_secret);
  FreeSecretCString(credentials->refresh_token);
  delete credentials;
}

int credvault_put(credvault_vault* vault, int64_t account_id, const char* client_id, const char* client_secret,
                  const char* refresh_token) {
  return Guard([&]() -> int {
    if (vault == nullptr) return FailWith(CREDVAULT_INVALID_ARGUMENT, "vault must not be NULL");
    credvault::CredentialsUpdate update{OptionalView(client_id), OptionalView(client_secret),
                                        OptionalView(refresh_token)};
    credvault::Status status = vault->vault.PutCredentials(account_id, update);
    return status.ok() ? CREDVAULT_OK : Fail(status);
  });
}

int credvault_find_accounts(credvault_vault* vault, const char* client_id, credvault_account** accounts,
                            size_t* n_accounts) {
  return Guard([&]() -> int {
    if (vault == nullptr || client_id == nullptr || accounts == nullptr || n_accounts == nullptr) {
      return FailWith(CREDVAULT_INVALID_ARGUMENT, "vault, client_id, accounts and n_accounts must not be NULL");
    }
    *accounts = nullptr;
    *n_accounts = 0;
    auto found = vault->vault.FindAccountsByClientId(client_id);
    if (!found.ok()) return Fail(found.status());
    if (found->empty()) return CREDVAULT_OK;
    auto* result = new credvault_account[found->size()]();
    try {
      for (std::size_t i = 0; i < found->size(); ++i) {
        const std::string& amazon = (*found)[i].amazon_account_id;
        result[i].account_id = (*found)[i].account_id;
        result[i].amazon_account_id = new char[amazon.size() + 1];
        std::memcpy(result[i].amazon_account_id, amazon.c_str(), amazon.size() + 1);
      }
    } catch (...) {
      credvault_accounts_free(result, found->size());
      throw;
    }
    *accounts = result;
    *n_accounts = found->size();
    return CREDVAULT_OK;
  });
}

void credvault_accounts_free(credvault_account* accounts, size_t n_accounts) {
  if (accounts == nullptr) return;
  for (size_t i = 0; i < n_accounts; ++i) delete[] accounts[i].amazon_account_id;
  delete[] accounts;
}

const char* credvault_last_error(void) { return g_last_error.c_str(); }

const char* credvault_last_error_reason(void) { return g_last_reason; }

}  // extern "C"

static_assert(CREDVAULT_INVALID_ARGUMENT == static_cast<int>(credvault::StatusCode::kInvalidArgument) &&
                  CREDVAULT_DATA_LOSS == static_cast<int>(credvault::StatusCode::kDataLoss) &&
                  CREDVAULT_INTERNAL == static_cast<int>(credvault::StatusCode::kInternal),
              "credvault.h return codes must equal StatusCode values");
