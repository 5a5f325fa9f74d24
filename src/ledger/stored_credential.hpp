// Reading one stored credential value back: the checks and the words every
// reader of the credentials table shares (Vault::GetCredentials, the lookup
// by client_id, client-secret status), so that a value one of them refuses
// is refused by the others for the same reason, in the same words.
#pragma once

#include <set>
#include <string>
#include <string_view>

#include "credvault/keyring.hpp"
#include "credvault/secret.hpp"
#include "credvault/status.hpp"
#include "ledger/credentials_table.hpp"

namespace credvault::ledger {

// "credentials.<column> of account <account>": how a message names a value
// (never by its bytes).
std::string DescribeStoredValue(const CredentialColumn& column, std::string_view account);

// Opens `stored`, a value of `column` of `account` that crypto::ClassifyValue
// does not take for plaintext (the caller decides what plaintext means to
// it), into `scratch`; returns the plaintext's length, its bytes at the
// start of `scratch` (the caller zeroes them once used). Errors, kDataLoss,
// named as DescribeStoredValue does, with the failure's reason:
//   a damaged envelope or another format version  the parser's reason;
//   a kid in `retired_kids`                       retired_kid;
//   a value that does not open                    the keyring's (unknown_kid,
//                                                 auth_failed, ...).
StatusOr<std::size_t> OpenStoredValue(const Keyring& ring, const CredentialColumn& column, std::string_view account,
                                      std::string_view stored, const std::set<std::string>& retired_kids,
                                      SecretBytes& scratch);

// The same, the plaintext in a SecretBytes of its own (Keyring::Decrypt):
// for a reader that hands the value on rather than looking at it once.
StatusOr<SecretBytes> OpenStoredValue(const Keyring& ring, const CredentialColumn& column, std::string_view account,
                                      std::string_view stored, const std::set<std::string>& retired_kids);

}  // namespace credvault::ledger
