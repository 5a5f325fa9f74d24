/* credvault C ABI: open a vault, read and write one account's credentials.
 *
 * For applications in other languages (Python ctypes, Go cgo, ...). No C++
 * exception crosses this boundary. Every function returns CREDVAULT_OK (0) or
 * an error code; credvault_last_error() then describes the failure of the
 * last call on this thread (never containing a secret), and
 * credvault_last_error_reason() names its cause when a value failed to
 * decrypt.
 *
 * Two ways to open a vault: credvault_open (seven positional arguments, kept
 * as it is for existing callers) and, since v2, an options object filled by
 * setters and opened with credvault_open_with_options: new options come as new
 * setters, so a caller built against this header keeps working.
 *
 * Thread safety: a credvault_vault may be used from several threads at once.
 */
#ifndef CREDVAULT_CREDVAULT_H_
#define CREDVAULT_CREDVAULT_H_

#include <stddef.h>
#include <stdint.h>

#include "credvault/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Return codes: the StatusCode of the C++ API. */
enum {
  CREDVAULT_OK = 0,
  CREDVAULT_INVALID_ARGUMENT = 1,
  CREDVAULT_NOT_FOUND = 2,
  CREDVAULT_ALREADY_EXISTS = 3,
  CREDVAULT_PERMISSION_DENIED = 4,
  CREDVAULT_FAILED_PRECONDITION = 5,
  CREDVAULT_UNAVAILABLE = 6,
  CREDVAULT_DATA_LOSS = 7,
  CREDVAULT_ABORTED = 8,
  CREDVAULT_CANCELLED = 9,
  CREDVAULT_UNIMPLEMENTED = 10,
  CREDVAULT_INTERNAL = 11
};

typedef struct credvault_vault credvault_vault;

/* One account's credentials. A field is NULL when the column is NULL.
 * Free with credvault_credentials_free, which zeroizes the memory. */
typedef struct credvault_credentials {
  char* client_id;
  char* client_secret;
  char* refresh_token;
} credvault_credentials;

/* Opens a vault. database_url: libpq URL, SQLAlchemy URL or key=value
 * ("" or NULL = PG* variables). primary_key: key text ("base64:..." or >= 32 bytes)
 *   or a key source: "file:PATH", "exec:COMMAND", "wrapped:PATH" (the KEK's
 *   pkcs11: URI in that file must then give module-path, an absolute path
 *   owned by root and writable by root only, and pin-source).
 * fallback_keys: n_fallback_keys key texts or sources (may be NULL when 0).
 * environment: "development" | "staging" | "production" (NULL = production);
 *   anything else is refused with CREDVAULT_INVALID_ARGUMENT.
 * migrations_dir: folder whose head the schema must be at (NULL = installed).
 * On success *out is the vault; close it with credvault_close. */
CREDVAULT_EXPORT int credvault_open(const char* database_url, const char* primary_key, const char* const* fallback_keys,
                   size_t n_fallback_keys, const char* environment, const char* migrations_dir,
                   credvault_vault** out);

/* C ABI v2. An opaque options object: create it, set what differs from the
 * defaults, open, destroy (the vault does not keep it). Each setter copies its
 * argument (the caller may free it at once; key texts are held in zeroized
 * memory) and returns CREDVAULT_OK, or CREDVAULT_INVALID_ARGUMENT (with
 * credvault_last_error) for a NULL options or a value it refuses; a refused
 * value leaves the option as it was. A NULL text sets the default. */
typedef struct credvault_options_t credvault_options_t;

/* Every option at its default: database_url "" (PG* variables), no primary
 * key (credvault_open_with_options refuses that), no fallback keys,
 * environment production, the installed migrations, max_connections as
 * VaultOptions::max_connections (credvault/vault.hpp).
 * NULL when out of memory. */
CREDVAULT_EXPORT credvault_options_t* credvault_options_create(void);
/* Frees the options and zeroizes the key texts they hold. NULL is ignored. */
CREDVAULT_EXPORT void credvault_options_destroy(credvault_options_t* options);

/* As credvault_open's parameters of the same names. */
CREDVAULT_EXPORT int credvault_options_set_database_url(credvault_options_t* options, const char* database_url);
CREDVAULT_EXPORT int credvault_options_set_primary_key(credvault_options_t* options, const char* primary_key);
/* Replaces the fallback keys with these n_fallback_keys (none NULL). */
CREDVAULT_EXPORT int credvault_options_set_fallback_keys(credvault_options_t* options, const char* const* fallback_keys,
                                                         size_t n_fallback_keys);
/* Refuses anything but "development", "staging" or "production" at once. */
CREDVAULT_EXPORT int credvault_options_set_environment(credvault_options_t* options, const char* environment);
CREDVAULT_EXPORT int credvault_options_set_migrations_dir(credvault_options_t* options, const char* migrations_dir);
/* The most connections the vault keeps open at once (>= 1). */
CREDVAULT_EXPORT int credvault_options_set_max_connections(credvault_options_t* options, size_t max_connections);

/* Opens a vault from `options` (which may be destroyed right after), with the
 * checks and return codes of credvault_open. On success *out is the vault;
 * close it with credvault_close. */
CREDVAULT_EXPORT int credvault_open_with_options(const credvault_options_t* options, credvault_vault** out);

CREDVAULT_EXPORT void credvault_close(credvault_vault* vault);

/* Reads and decrypts an account's credentials into *out. */
CREDVAULT_EXPORT int credvault_get(credvault_vault* vault, int64_t account_id, credvault_credentials** out);

CREDVAULT_EXPORT void credvault_credentials_free(credvault_credentials* credentials);

/* Encrypts and stores the fields that are not NULL; NULL fields keep their value. */
CREDVAULT_EXPORT int credvault_put(credvault_vault* vault, int64_t account_id, const char* client_id, const char* client_secret,
                  const char* refresh_token);

/* One account of a Login-with-Amazon client (credvault_find_accounts).
 * amazon_account_id is a NUL-terminated copy of accounts.amazon_account_id. */
typedef struct credvault_account {
  int64_t account_id;
  char* amazon_account_id;
} credvault_account;

/* The accounts whose client_id is exactly `client_id` (a NUL-terminated
 * string), ordered by account_id, as Vault::FindAccountsByClientId
 * (credvault/vault.hpp) finds them. On success *accounts is an array of
 * *n_accounts entries allocated by credvault (NULL when there are none, which
 * is CREDVAULT_OK with *n_accounts = 0); free it with credvault_accounts_free.
 * The library allocates rather than filling a caller's array: the set is
 * read once, so no count can go stale between two calls.
 * CREDVAULT_FAILED_PRECONDITION while some rows have a client_id but no blind
 * index yet (run `credvault encrypt`); CREDVAULT_DATA_LOSS when a match's
 * client_id cannot be decrypted (credvault_last_error_reason names why). */
CREDVAULT_EXPORT int credvault_find_accounts(credvault_vault* vault, const char* client_id, credvault_account** accounts,
                                             size_t* n_accounts);

/* Frees what credvault_find_accounts returned (NULL is ignored). */
CREDVAULT_EXPORT void credvault_accounts_free(credvault_account* accounts, size_t n_accounts);

/* The message of the last failed call on this thread ("" if none). Valid
 * until the next credvault call on this thread. */
CREDVAULT_EXPORT const char* credvault_last_error(void);

/* Why the last failed call on this thread failed, when a stored value could
 * not be used: one of docs/reasons.txt's first group (credvault/reasons.hpp's
 * kValue), e.g. "auth_failed", "unknown_kid", "retired_kid", "bad_version";
 * "" for any other failure (no_credentials among them) and after a call that
 * succeeded. A static string: valid forever. */
CREDVAULT_EXPORT const char* credvault_last_error_reason(void);

#ifdef __cplusplus
}
#endif

#endif /* CREDVAULT_CREDVAULT_H_ */
