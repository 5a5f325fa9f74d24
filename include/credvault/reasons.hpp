// The reasons (Status::reason()) a caller of the library sees when a value,
// a key, an account or the schema cannot be used, or a call is wrong: one
// constant each, and the lists callers iterate. docs/reasons.txt holds the
// same names, one a line, for the Python package and the docs;
// tests/scripts/reasons_consistent.sh compares these constants with it and
// with python/src/credvault/errors.py.
//
// Header-only: the constants are compile-time, nothing here is exported.
// Each is a NUL-terminated array, so it compares with a Status's reason and
// serves as a C string (credvault_last_error_reason returns them).
#pragma once

#include <array>

namespace credvault::reason {

// ParseEnvelope's (kInvalidArgument), in the order it checks.
inline constexpr char kNotEnvelope[] = "not_envelope";    // no "cv1:" prefix
inline constexpr char kBadVersion[] = "bad_version";      // "cv<digits>:" of another version
inline constexpr char kBadStructure[] = "bad_structure";  // not exactly 4 ':'-separated fields
inline constexpr char kBadAlgorithm[] = "bad_algorithm";
inline constexpr char kBadKid[] = "bad_kid";
inline constexpr char kPadding[] = "padding";  // base64 '=' padding, which v1 forbids
inline constexpr char kBadBase64[] = "bad_base64";
inline constexpr char kTooShort[] = "too_short";  // shorter than nonce and tag

// Decrypting a well-formed value.
inline constexpr char kUnknownKid[] = "unknown_kid";  // kNotFound: the kid is not in the keyring
inline constexpr char kAuthFailed[] = "auth_failed";  // kDataLoss: wrong key, tampered or moved
inline constexpr char kRetiredKid[] = "retired_kid";  // the kid is retired (`credvault keys retire`)

// verify's and the row jobs' reports name a value that does not parse by
// what it is rather than by ParseEnvelope's finer reason.
inline constexpr char kMalformed[] = "malformed";                     // starts "cv1:", does not parse
inline constexpr char kUnsupportedVersion[] = "unsupported_version";  // ParseEnvelope's kBadVersion
inline constexpr char kPlaintext[] = "plaintext";                     // not ciphertext at all

// Keys (ParseKeyMaterial, the keyring, the key sources), kInvalidArgument.
inline constexpr char kBadKey[] = "bad_key";              // "base64:" and not base64, not UTF-8, empty material
inline constexpr char kWeakKey[] = "weak_key";            // shorter than 32 bytes, or base64 of other than 32
inline constexpr char kNoKey[] = "no_key";                // SECRET_KEY (or its CLI equivalent) not given
inline constexpr char kDuplicateKid[] = "duplicate_kid";  // the same key twice in one keyring
inline constexpr char kKeyCommand[] = "key_command";      // an exec: key command failed

// Accounts and their values (the Vault, and the jobs' capacity check).
inline constexpr char kNoSuchAccount[] = "no_such_account";        // kNotFound
inline constexpr char kNoCredentials[] = "no_credentials";         // kNotFound: the account has no credentials row
inline constexpr char kNoLifecycleGrant[] = "no_lifecycle_grant";  // the role cannot read credvault_keys
inline constexpr char kCapacity[] = "capacity";                    // a value would not fit its column once encrypted
// kFailedPrecondition: a lookup by client_id cannot be complete, since some
// rows have a client_id but no blind index yet (plaintext, or written before
// the index existed): `credvault encrypt` indexes them.
inline constexpr char kUnindexed[] = "unindexed";
// verify: credentials.client_id_bidx is missing, malformed, under another kid
// than client_id, or not the index of the decrypted client_id.
inline constexpr char kBadBlindIndex[] = "bad_blind_index";

// The schema against the migration files.
inline constexpr char kPendingMigrations[] = "pending_migrations";
inline constexpr char kMissingFile[] = "missing_file";  // an applied revision has no file
inline constexpr char kChecksum[] = "checksum";         // an applied file was edited since

// The call itself is wrong; the CLI exits 2 (usage) for it whatever the code.
inline constexpr char kUsage[] = "usage";

// Every reason above, in the order docs/reasons.txt lists them.
inline constexpr std::array<const char*, 29> kAll = {
    kNotEnvelope,        kBadVersion,    kBadStructure,  kBadAlgorithm,     kBadKid,     kPadding,
    kBadBase64,          kTooShort,      kUnknownKid,    kAuthFailed,       kRetiredKid, kMalformed,
    kUnsupportedVersion, kPlaintext,     kBadKey,        kWeakKey,          kNoKey,      kDuplicateKid,
    kKeyCommand,         kNoSuchAccount, kNoCredentials, kNoLifecycleGrant, kCapacity,   kUnindexed,
    kBadBlindIndex,      kPendingMigrations, kMissingFile, kChecksum,       kUsage,
};

// Why a stored value could not be used: the first 14 of kAll. The C ABI's
// credvault_last_error_reason names these only (its documented contract), so
// a C caller can tell a bad value from every other failure by "" alone.
inline constexpr std::array<const char*, 14> kValue = {
    kNotEnvelope, kBadVersion, kBadStructure,       kBadAlgorithm, kBadKid,
    kPadding,     kBadBase64,  kTooShort,           kUnknownKid,   kAuthFailed,
    kRetiredKid,  kMalformed,  kUnsupportedVersion, kPlaintext,
};

// Given only by the row jobs (verify, encrypt, rotate), which the CLI runs and
// the Python package does not: errors.py mirrors every reason of kAll but these.
inline constexpr std::array<const char*, 3> kJobsOnly = {kMalformed, kUnsupportedVersion, kBadBlindIndex};

// Every reason verify can report for a value (its summary, --json and the
// metrics file's credvault_verify_failed_values).
inline constexpr std::array<const char*, 7> kVerify = {kAuthFailed,         kUnknownKid, kRetiredKid,   kMalformed,
                                                       kUnsupportedVersion, kPlaintext,  kBadBlindIndex};

}  // namespace credvault::reason
