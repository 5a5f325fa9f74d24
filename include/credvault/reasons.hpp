// The reasons (Status::reason()) a stored value fails to decrypt or verify:
// one constant each, and the lists callers iterate. docs/reasons.txt holds
// the same names, one a line, for the Python package and the docs;
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

// Every reason above, in the order docs/reasons.txt lists them.
inline constexpr std::array<const char*, 14> kAll = {
    kNotEnvelope, kBadVersion, kBadStructure, kBadAlgorithm, kBadKid,   kPadding,            kBadBase64,
    kTooShort,    kUnknownKid, kAuthFailed,   kRetiredKid,   kMalformed, kUnsupportedVersion, kPlaintext,
};

// Every reason verify can report for a value (its summary, --json and the
// metrics file's credvault_verify_failed_values).
inline constexpr std::array<const char*, 6> kVerify = {kAuthFailed, kUnknownKid,         kRetiredKid,
                                                       kMalformed,  kUnsupportedVersion, kPlaintext};

}  // namespace credvault::reason
