/* credvault C ABI: open a vault, read and write one account's credentials.
 *
 * For applications in other languages (Python ctypes, Go cgo, ...). No C++
 * exception crosses this boundary. Every function returns CREDVAULT_OK (0) or
 * an error code; credvault_last_error() then describes the failure of the
 * last call on this thread (never containing a secret).
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

CREDVAULT_EXPORT void credvault_close(credvault_vault* vault);

/* Reads and decrypts an account's credentials into *out. */
CREDVAULT_EXPORT int credvault_get(credvault_vault* vault, int64_t account_id, credvault_credentials** out);

CREDVAULT_EXPORT void credvault_credentials_free(credvault_credentials* credentials);

/* Encrypts and stores the fields that are not NULL; NULL fields keep their value. */
CREDVAULT_EXPORT int credvault_put(credvault_vault* vault, int64_t account_id, const char* client_id, const char* client_secret,
                  const char* refresh_token);

/* The message of the last failed call on this thread ("" if none). Valid
 * until the next credvault call on this thread. */
CREDVAULT_EXPORT const char* credvault_last_error(void);

#ifdef __cplusplus
}
#endif

#endif /* CREDVAULT_CREDVAULT_H_ */
