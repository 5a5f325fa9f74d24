#include "cli/audit.hpp"

#include <pwd.h>
#include <unistd.h>

#include <vector>

#include "common/status_macros.hpp"
#include "ledger/history.hpp"
#include "ledger/key_lifecycle.hpp"

namespace credvault::cli {

Origin CurrentOrigin() {
  Origin origin;
  const uid_t uid = geteuid();
  std::vector<char> buffer(16384);
  passwd entry{};
  passwd* found = nullptr;
  if (getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found) == 0 && found != nullptr) {
    origin.os_user = found->pw_name;
  } else {
    origin.os_user = "uid " + std::to_string(uid);
  }
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) == 0) origin.host = host;
  return origin;
}

ledger::EventDetails WithOrigin(ledger::EventDetails details) {
  const Origin origin = CurrentOrigin();
  details.AddText("os_user", origin.os_user).AddText("host", origin.host);
  return details;
}

Status RecordEvent(CommandContext& context, const std::string& kind, ledger::EventDetails details) {
  CV_ASSIGN_OR_RETURN(std::unique_ptr<db::Connection> conn, context.Connect("credvault " + kind));
  const ledger::EventDetails full = WithOrigin(std::move(details));
  // put and get --reveal run as the application role: through the one
  // function it may call (docs/ROLES.md).
  Status status = (kind == "put" || kind == "get_reveal") ? ledger::RecordAccessEvent(*conn, kind, full.ToJson())
                                                          : ledger::AppendEvent(*conn, kind, "", full);
  if (!status.ok()) return status.Annotate("the " + kind + " event could not be recorded in credvault_events");
  return status;
}

}  // namespace credvault::cli
