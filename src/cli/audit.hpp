// Who ran a command, for credvault_events: the operating-system user and the
// host (the database role is recorded by the table itself, as `actor`).
#pragma once

#include <string>

#include "cli/command.hpp"
#include "ledger/event_details.hpp"

namespace credvault::cli {

struct Origin {
  std::string os_user;  // login name of the effective uid, or "uid N"
  std::string host;     // gethostname()
};

Origin CurrentOrigin();

// `details` plus os_user and host.
ledger::EventDetails WithOrigin(ledger::EventDetails details);

// Appends an event (with the origin) on a new connection; "put" and
// "get_reveal" through credvault_record_access (the application role's
// only way in). An event that cannot be recorded is an error: the audit
// trail is not optional.
Status RecordEvent(CommandContext& context, const std::string& kind, ledger::EventDetails details);

}  // namespace credvault::cli
