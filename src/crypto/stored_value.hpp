// What a stored credential value is, from its header "cv1:<alg>:<kid>:"
// alone: the readers that need no more than the header (the row jobs'
// selection, the retired-kid checks) use these, never offsets of their own.
// They share ParseEnvelope's parser (envelope.cpp), so they agree with it.
#pragma once

#include <string_view>

namespace credvault::crypto {

// Whether `value` starts with the envelope prefix "cv1:".
bool HasEnvelopePrefix(std::string_view value);

// Whether `value` starts with "cv<digits>:" other than "cv1:": a format
// version credvault does not know (docs/FORMAT.md; ParseEnvelope's reason
// bad_version). Never plaintext.
bool IsOtherVersion(std::string_view value);

// What a stored value is, for the row jobs and the vault.
enum class ValueKind {
  kCiphertext,         // parses as v1
  kMalformedEnvelope,  // starts with "cv1:" but does not parse, or with "cv<digits>:" of another
                       // version than 1 (IsOtherVersion): never treated as plaintext
  kPlaintext,          // anything else
};
ValueKind ClassifyValue(std::string_view text);

// The kid of a value whose header parses ("cv1:<alg>:<kid>:" with a known
// alg and 8 lowercase hex digits, exactly four fields); "" otherwise. The
// payload is not checked: a value with a kid may still fail ParseEnvelope.
std::string_view PeekKid(std::string_view value);

}  // namespace credvault::crypto
