// Shared fixture of the row-job tests: a database at 20260215_0001 filled
// with realistic plaintext credentials, key environments for the CLI, and
// checks over the whole table.
#pragma once

#include <atomic>
#include <cstddef>
#include <map>
#include <thread>
#include <optional>
#include <string>
#include <vector>

#include "credvault/keyring.hpp"
#include "support/test_support.hpp"

namespace credvault::testing {

inline const char* const kJobColumns[] = {"client_id", "client_secret", "refresh_token"};

// Migrates `db` to 20260215_0001 (once) and adds accounts first..first+rows-1
// with realistic plaintext credentials (client_id amzn1.application-oa2-client.<hex>,
// client_secret amzn1.oa2-cs.v1.<hex>, refresh_token Atzr|... of ~300 chars,
// NULL for every 17th account) with account_id == credentials.id. A copy of
// every row goes to the table `originals` to compare with.
void Populate(const TestDatabase& db, int rows, int first = 1);

Keyring Ring(const std::string& primary, const std::vector<std::string>& fallbacks = {});

// db.Env() plus SECRET_KEY, SECRET_KEY_FALLBACKS (comma-separated), CREDVAULT_ENV=development and
// CREDVAULT_MIGRATIONS_DIR = the repository's migrations.
std::map<std::string, std::optional<std::string>> KeyEnv(const TestDatabase& db, const std::string& primary,
                                                         const std::string& fallbacks = "");

// Every value of credentials is v1 ciphertext of at most `max_chars` chars
// (under `expected_kid` when given) that decrypts with `ring` to the value of the
// same row and column in the table `expected`; NULLs stay NULL.
void ExpectAllEncryptedAndEqual(const TestDatabase& db, const Keyring& ring, const std::string& expected = "originals",
                                const std::string& expected_kid = "", std::size_t max_chars = 512);

// After an interrupted job: every value of credentials is either the whole
// plaintext of `expected` or a whole ciphertext that decrypts with `ring` to
// it; none is lost (row counts and NULLs match). Returns the values checked.
int ExpectEveryValueWhole(const TestDatabase& db, const Keyring& ring, const std::string& expected = "originals");

// An application writing new client_secrets to random rows 1..rows (sealed
// with `ring`'s primary key, or in plaintext without a ring) until
// destroyed; every write also goes to `originals` in the same transaction,
// so the tables' checks see the newest value.
class ApplicationWriter {
 public:
  ApplicationWriter(const TestDatabase& db, int rows, unsigned seed, std::optional<Keyring> ring = std::nullopt);
  ~ApplicationWriter();  // stops and joins
  int writes() const { return writes_.load(); }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<int> writes_{0};
  std::thread thread_;
};

std::string TableChecksum(const TestDatabase& db);  // md5 of every row of credentials
std::string Xmins(const TestDatabase& db);          // md5 of every (id, xmin)
int CountCiphertext(const TestDatabase& db);        // rows whose client_id is encrypted

}  // namespace credvault::testing
