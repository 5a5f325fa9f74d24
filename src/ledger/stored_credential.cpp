#include "ledger/stored_credential.hpp"

#include "credvault/envelope.hpp"
#include "credvault/reasons.hpp"
#include "crypto/keyring_access.hpp"
#include "crypto/stored_value.hpp"

namespace credvault::ledger {

std::string DescribeStoredValue(const CredentialColumn& column, std::string_view account) {
  return std::string(kCredentialsTable) + "." + column.name + " of account " + std::string(account);
}

StatusOr<std::size_t> OpenStoredValue(const Keyring& ring, const CredentialColumn& column, std::string_view account,
                                      std::string_view stored, const std::set<std::string>& retired_kids,
                                      SecretBytes& scratch) {
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
  const ValueContext context{kCredentialsTable, column.aad_name, account};
  auto length = crypto::DecryptInto(ring, stored, context, scratch);
  if (!length.ok()) {
    return DataLossError(DescribeStoredValue(column, account) + " cannot be decrypted: " + length.status().message(),
                         length.status().reason());
  }
  return *length;
}

}  // namespace credvault::ledger
