// The C ABI of include/credvault/credvault.h over credvault::Vault.
#include "credvault/credvault.h"

#include <sodium.h>

#include <cstring>
#include <new>
#include <string>

#include "credvault/key_source.hpp"
#include "credvault/vault.hpp"

struct credvault_vault {
  credvault::Vault vault;
};

namespace {

thread_local std::string g_last_error;

int Fail(const credvault::Status& status) {
  g_last_error = status.message();
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

}  // namespace

extern "C" {

int credvault_open(const char* database_url, const char* primary_key, const char* const* fallback_keys,
                   size_t n_fallback_keys, const char* environment, const char* migrations_dir,
                   credvault_vault** out) {
  return Guard([&]() -> int {
    if (out == nullptr) return FailWith(CREDVAULT_INVALID_ARGUMENT, "out must not be NULL");
    *out = nullptr;
    if (primary_key == nullptr) return FailWith(CREDVAULT_INVALID_ARGUMENT, "primary_key must not be NULL");
    if (n_fallback_keys > 0 && fallback_keys == nullptr) {
      return FailWith(CREDVAULT_INVALID_ARGUMENT, "fallback_keys is NULL but n_fallback_keys > 0");
    }
    // Key sources (exec:, file:, wrapped:) are resolved here; a wrapped: key's
    // KEK URI must carry module-path and pin-source (this ABI reads no
    // environment variable).
    const credvault::KeySourceOptions sources;
    std::vector<credvault::KeySpec> fallbacks;
    for (size_t i = 0; i < n_fallback_keys; ++i) {
      if (fallback_keys[i] == nullptr) return FailWith(CREDVAULT_INVALID_ARGUMENT, "a fallback key is NULL");
      const std::string name = "fallback key " + std::to_string(i + 1);
      auto key = credvault::ResolveKeySource(credvault::SecretBytes::FromString(fallback_keys[i]), sources);
      if (!key.ok()) return Fail(key.status().Annotate(name));
      fallbacks.push_back({std::move(key).value(), name});
    }
    auto primary = credvault::ResolveKeySource(credvault::SecretBytes::FromString(primary_key), sources);
    if (!primary.ok()) return Fail(primary.status().Annotate("primary key"));
    auto keyring = credvault::Keyring::Create({std::move(primary).value(), "primary key"}, std::move(fallbacks));
    if (!keyring.ok()) return Fail(keyring.status());
    credvault::VaultOptions options;
    options.database_url = database_url != nullptr ? database_url : "";
    options.keyring = std::move(keyring).value();
    if (environment != nullptr) {
      auto parsed = credvault::ParseEnvironment(environment);
      if (!parsed.ok()) return Fail(parsed.status());
      options.environment = *parsed;
    }
    if (migrations_dir != nullptr) options.migrations_dir = migrations_dir;
    auto vault = credvault::Vault::Open(std::move(options));
    if (!vault.ok()) return Fail(vault.status());
    *out = new credvault_vault{std::move(vault).value()};
    return CREDVAULT_OK;
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

const char* credvault_last_error(void) { return g_last_error.c_str(); }

}  // extern "C"

static_assert(CREDVAULT_INVALID_ARGUMENT == static_cast<int>(credvault::StatusCode::kInvalidArgument) &&
                  CREDVAULT_DATA_LOSS == static_cast<int>(credvault::StatusCode::kDataLoss) &&
                  CREDVAULT_INTERNAL == static_cast<int>(credvault::StatusCode::kInternal),
              "credvault.h return codes must equal StatusCode values");
