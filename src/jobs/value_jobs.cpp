// encrypt, decrypt and rotate: each a JobSpec for the batch engine (which
// rows need work, and what becomes of one value), after its preflight. The
// key-lifecycle read, the preflight and the engine's first writer share one
// session (opening one costs the server a process).
#include <set>
#include <string_view>

#include <sodium.h>

#include "common/status_macros.hpp"
#include "credvault/envelope.hpp"
#include "crypto/blind_index.hpp"
#include "crypto/keyring_access.hpp"
#include "crypto/stored_value.hpp"
#include "db/connection.hpp"
#include "jobs/batch_engine.hpp"
#include "jobs/job_common.hpp"
#include "jobs/jobs.hpp"
#include "jobs/preflight.hpp"

namespace credvault::jobs {

StatusOr<JobReport> Encrypt(const JobOptions& given) {
  CV_ASSIGN_OR_RETURN(std::unique_ptr<db::Connection> session, db::Connection::Open(given.conninfo, "credvault encrypt"));
  CV_ASSIGN_OR_RETURN(const JobOptions options, WithKeyLifecycle(*session, given, true));
  CV_RETURN_IF_ERROR(EncryptPreflight(*session, options));
  const Keyring& ring = *options.keyring;
  const std::set<std::string>& retired = *options.retired_kids;
  // A value of an unknown format version (cv2:...) is not plaintext: left and reported.
  JobSpec spec{"encrypt", AnyColumn("{c} NOT LIKE 'cv1:%'"), false,
               [](const std::string& value) { return !crypto::HasEnvelopePrefix(value); },
               [&ring](const std::string& value, const ValueContext& context, SecretBytes&,
                       std::string* index) -> StatusOr<std::optional<std::string>> {
                 if (crypto::IsOtherVersion(value)) return ParseEnvelope(value).status();
                 CV_ASSIGN_OR_RETURN(std::string sealed, ring.Encrypt(value, context));
                 if (index != nullptr) *index = crypto::PrimaryClientIdIndex(ring, value);
                 return std::optional<std::string>(std::move(sealed));
               },
               std::nullopt,
               // A client_id encrypted before its index column existed: written
               // back unchanged, with its index under its own kid.
               [&ring, &retired](const std::string& value, const ValueContext& context, SecretBytes& scratch,
                                 std::string* index) -> StatusOr<std::optional<std::string>> {
                 const std::string kid(crypto::PeekKid(value));
                 if (retired.count(kid)) return RetiredKidError(kid);
                 CV_ASSIGN_OR_RETURN(std::size_t length, crypto::DecryptInto(ring, value, context, scratch));
                 auto indexed = crypto::ClientIdIndex(ring, kid, std::string_view(reinterpret_cast<const char*>(scratch.data()), length));
                 sodium_memzero(scratch.data(), length);
                 CV_ASSIGN_OR_RETURN(*index, std::move(indexed));
                 return std::optional<std::string>(value);
               }};
  return RunBatchJob(options, std::move(spec), std::move(session));
}

StatusOr<JobReport> Decrypt(const JobOptions& given) {
  CV_ASSIGN_OR_RETURN(std::unique_ptr<db::Connection> session, db::Connection::Open(given.conninfo, "credvault decrypt"));
  CV_ASSIGN_OR_RETURN(const JobOptions options, WithKeyLifecycle(*session, given, false));
  CV_RETURN_IF_ERROR(DecryptPreflight(*session, options));
  const Keyring& ring = *options.keyring;
  const std::set<std::string>& retired = *options.retired_kids;
  JobSpec spec{"decrypt", AnyColumn(std::string("{c} LIKE 'cv1:%' OR ") + kUnsupportedVersionSql), false,
               [](const std::string& value) { return crypto::HasEnvelopePrefix(value) || crypto::IsOtherVersion(value); },
               // A plaintext client_id has no index: `index` stays empty (NULL).
               [&ring, &retired](const std::string& value, const ValueContext& context, SecretBytes& scratch,
                                 std::string*) -> StatusOr<std::optional<std::string>> {
                 if (crypto::IsOtherVersion(value)) return ParseEnvelope(value).status();
                 if (const std::string kid(crypto::PeekKid(value)); retired.count(kid)) return RetiredKidError(kid);
                 CV_ASSIGN_OR_RETURN(std::size_t length, crypto::DecryptInto(ring, value, context, scratch));
                 return std::optional<std::string>(std::string(reinterpret_cast<const char*>(scratch.data()), length));
               },
               std::nullopt, nullptr};
  return RunBatchJob(options, std::move(spec), std::move(session));
}

StatusOr<JobReport> Rotate(const JobOptions& given) {
  CV_ASSIGN_OR_RETURN(std::unique_ptr<db::Connection> session, db::Connection::Open(given.conninfo, "credvault rotate"));
  CV_ASSIGN_OR_RETURN(const JobOptions options, WithKeyLifecycle(*session, given, true));
  CV_ASSIGN_OR_RETURN(KidCounts kids, RotatePreflight(*session, options));
  const Keyring& ring = *options.keyring;
  const std::string primary = ring.primary_kid();
  const std::set<std::string>& retired = *options.retired_kids;
  JobSpec spec{"rotate",
               AnyColumn(std::string("({c} LIKE 'cv1:%' AND split_part({c}, ':', 3) <> {kid}) OR ") +
                         kUnsupportedVersionSql),
               true,
               [primary](const std::string& value) {
                 return (crypto::HasEnvelopePrefix(value) && crypto::PeekKid(value) != primary) || crypto::IsOtherVersion(value);
               },
               [&ring, &retired](const std::string& value, const ValueContext& context, SecretBytes& scratch,
                                 std::string* index) -> StatusOr<std::optional<std::string>> {
                 if (crypto::IsOtherVersion(value)) return ParseEnvelope(value).status();
                 // Never re-encrypt (and so launder) a value under a retired key.
                 if (const std::string kid(crypto::PeekKid(value)); retired.count(kid)) return RetiredKidError(kid);
                 CV_ASSIGN_OR_RETURN(std::size_t length, crypto::DecryptInto(ring, value, context, scratch));
                 const std::string_view plaintext(reinterpret_cast<const char*>(scratch.data()), length);
                 auto sealed = ring.Encrypt(plaintext, context);
                 if (sealed.ok() && index != nullptr) *index = crypto::PrimaryClientIdIndex(ring, plaintext);
                 sodium_memzero(scratch.data(), length);
                 if (!sealed.ok()) return sealed.status();
                 return std::optional<std::string>(std::move(sealed).value());
               },
               kids.rows_to_rotate, nullptr};
  auto report = RunBatchJob(options, std::move(spec), std::move(session));
  if (report.ok()) report->by_kid = kids.by_kid;
  return report;
}

}  // namespace credvault::jobs
