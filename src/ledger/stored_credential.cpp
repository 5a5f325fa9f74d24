#include "ledger/stored_credential.hpp"

#include "common/status_macros.hpp"
#include "credvault/envelope.hpp"
#include "credvault/reasons.hpp"
#include "crypto/keyring_access.hpp"
#include "crypto/stored_value.hpp"

namespace credvault::ledger {

std::string DescribeStoredValue(const CredentialColumn& column, std::string_view account) {
  return std::string(kCredentialsTable) + "." + column.name + " of account " + std::string(account);
}

namespace {

// What refuses a value before any key touches it: a damaged envelope or
// another format version, a kid in `retired_kids`.
Status CheckBeforeOpening(const CredentialColumn& column, std::string_view account, std::string_view stored,
                          const std::set<std::string>& retired_kids) {
  if (crypto::ClassifyValue(stored) == crypto::ValueKind::kMalformedEnvelope) {
    const Status error = ParseEnvelope(stored).status();
    return DataLossError(DescribeStoredValue(column, account) + " cannot be decrypted: " + error.message(),
                         error.reason());
  }
  const std::string kid(crypto::PeekKid(stored));
  if (retired_kids.count(kid) > 0) {
    return DataLossError(DescribeStoredValue(column, account) + " is under key " + kid +
                             ", which is retired: refused (a value restored from an old backup, or written by a "
                             "process still holding the old key); store a current value with put",
                         reason::kRetiredKid);
  }
  return Status::Ok();
}

Status CannotOpen(const CredentialColumn& column, std::string_view account, const Status& error) {
  return DataLossError(DescribeStoredValue(column, account) + " cannot be decrypted: " + error.message(),
                       error.reason());
}

}  // namespace

StatusOr<std::size_t> OpenStoredValue(const Keyring& ring, const CredentialColumn& column, std::string_view account,
                                      std::string_view stored, const std::set<std::string>& retired_kids,
                                      SecretBytes& scratch) {
  CV_RETURN_IF_ERROR(CheckBeforeOpening(column, account, stored, retired_kids));
  auto length = crypto::DecryptInto(ring, stored, ValueContext{kCredentialsTable, column.aad_name, account}, scratch);
  if (!length.ok()) return CannotOpen(column, account, length.status());
  return *length;
}

StatusOr<SecretBytes> OpenStoredValue(const Keyring& ring, const CredentialColumn& column, std::string_view account,
                                      std::string_view stored, const std::set<std::string>& retired_kids) {
  CV_RETURN_IF_ERROR(CheckBeforeOpening(column, account, stored, retired_kids));
  auto plaintext = ring.Decrypt(stored, ValueContext{kCredentialsTable, column.aad_name, account});
  if (!plaintext.ok()) return CannotOpen(column, account, plaintext.status());
  return plaintext;
}

}  // namespace credvault::ledger
