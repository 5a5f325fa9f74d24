// Checks a job makes before its first write; a failure writes nothing.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "credvault/status.hpp"
#include "db/connection.hpp"
#include "jobs/jobs.hpp"

namespace credvault::jobs {

struct KidCounts {
  std::map<std::string, std::uint64_t> by_kid;  // values per kid (encrypted values only)
  std::uint64_t to_rotate = 0;                  // values not under the primary kid
};

// Every kid in the table must be in the ring; kNotFound (exit 3) names the
// missing kids and how many values use each.
StatusOr<KidCounts> RotatePreflight(const JobOptions& options);

// Values that start with "cv1:" but are not well-formed v1 values: kDataLoss
// naming up to 20 (row id, column). Never encrypted, decrypted or skipped.
Status CheckNoMalformedValues(db::Connection& conn);

}  // namespace credvault::jobs
