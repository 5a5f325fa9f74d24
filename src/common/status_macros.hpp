// Early-return helpers for Status and StatusOr (internal: not installed, so a
// program using the library never gets macros named CV_* from our headers).
#pragma once

#include <utility>

#include "credvault/status.hpp"

// Returns the Status of `expr` from the enclosing function unless it is ok.
#define CV_RETURN_IF_ERROR(expr)              \
  do {                                        \
    ::credvault::Status cv_status_ = (expr);  \
    if (!cv_status_.ok()) return cv_status_;  \
  } while (0)

// `lhs = value of expr` (a declaration or an lvalue), or returns its Status.
#define CV_CONCAT_INNER(a, b) a##b
#define CV_CONCAT(a, b) CV_CONCAT_INNER(a, b)
#define CV_ASSIGN_OR_RETURN(lhs, expr) CV_ASSIGN_OR_RETURN_IMPL(CV_CONCAT(cv_statusor_, __LINE__), lhs, expr)
#define CV_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.ok()) return tmp.status();            \
  lhs = std::move(tmp).value()
