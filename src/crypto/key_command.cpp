#include "crypto/key_command.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <vector>

#include "credvault/reasons.hpp"

extern char** environ;

namespace credvault::crypto {
namespace {

constexpr std::size_t kMaxStdout = 64 * 1024;
constexpr std::size_t kMaxQuotedStderr = 1000;

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { Reset(); }
  int get() const { return fd_; }
  void Reset() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }
  int* out() { return &fd_; }

 private:
  int fd_ = -1;
};

// The variables a helper may see (docs/RUNBOOK.md, "exec:"): what a shell
// and the secrets managers' CLIs of the RUNBOOK's recipes need, and nothing
// of credvault's own configuration: never DATABASE_URL, a PG* variable or a key.
constexpr const char* kPassedNames[] = {"PATH=", "HOME=", "LANG=", "LANGUAGE=", "TZ=", "TMPDIR=", "USER=",
                                        "LOGNAME=", "TERM=", "GNUPGHOME=", "XDG_CONFIG_HOME=", "XDG_RUNTIME_DIR=",
                                        "SSL_CERT_FILE=", "SSL_CERT_DIR=", "HTTP_PROXY=", "HTTPS_PROXY=",
                                        "NO_PROXY=", "http_proxy=", "https_proxy=", "no_proxy="};
constexpr const char* kPassedPrefixes[] = {"LC_", "CREDVAULT_KEY_", "AWS_", "VAULT_", "SOPS_", "OP_"};

bool StartsWith(const char* entry, const char* prefix) { return std::strncmp(entry, prefix, std::strlen(prefix)) == 0; }

}  // namespace

bool PassedToKeyCommand(const char* entry) {
  if (std::strchr(entry, '=') == nullptr) return false;
  for (const char* name : kPassedNames) {
    if (StartsWith(entry, name)) return true;
  }
  for (const char* prefix : kPassedPrefixes) {
    if (StartsWith(entry, prefix)) return true;
  }
  return false;
}

namespace {

// Printable ASCII of the command's stderr for a message.
std::string Quote(const std::string& stderr_text) {
  std::string out;
  for (char c : stderr_text.substr(0, kMaxQuotedStderr)) {
    out += (c >= 0x20 && c < 0x7f) ? c : ' ';
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  if (stderr_text.size() > kMaxQuotedStderr) out += " ...";
  return out.empty() ? "(nothing on stderr)" : "stderr: " + out;
}

// `what` the command prints ("key"), what went wrong (`failure`).
Status CommandFailed(std::string_view what, const std::string& failure, const std::string& stderr_text) {
  return InvalidArgumentError("exec: " + std::string(what) + " command " + failure + "; " + Quote(stderr_text),
                              reason::kKeyCommand);
}

// Starts `/bin/sh -c command` in its own process group, stdin from
// /dev/null, stdout and stderr on the given descriptors, with the allowlisted
// part of our environment only; returns its pid.
StatusOr<pid_t> SpawnShell(const std::string& command, int stdout_fd, int stderr_fd) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, stdout_fd, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, stderr_fd, STDERR_FILENO);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  posix_spawnattr_setpgroup(&attributes, 0);  // its own group: a timeout kills its children too
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGTERM);
  posix_spawnattr_setsigdefault(&attributes, &defaults);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

  std::vector<char*> env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    if (PassedToKeyCommand(*entry)) env.push_back(*entry);
  }
  env.push_back(nullptr);
  std::string shell = "/bin/sh", dash_c = "-c", command_copy = command;
  char* argv[] = {shell.data(), dash_c.data(), command_copy.data(), nullptr};
  pid_t pid = -1;
  const int spawned = posix_spawn(&pid, "/bin/sh", &actions, &attributes, argv, env.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (spawned != 0) return InvalidArgumentError(std::string("exec: cannot run /bin/sh: ") + std::strerror(spawned));
  return pid;
}

// What the command printed, and whether it was cut short.
struct CommandOutput {
  SecretBytes output{kMaxStdout + 1};  // sodium_malloc'd: the key never sits in an ordinary buffer
  std::size_t output_size = 0;
  std::string stderr_text;
  bool overflow = false;   // more than kMaxStdout on stdout
  bool timed_out = false;  // still open at the deadline
};

using Clock = std::chrono::steady_clock;

// Reads the command's stdout and stderr until both close, stdout outgrows
// kMaxStdout, or the deadline passes.
void ReadOutput(Fd& out_read, Fd& err_read, Clock::time_point deadline, CommandOutput& result) {
  while (out_read.get() >= 0 || err_read.get() >= 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      break;
    }
    pollfd fds[2] = {{out_read.get(), POLLIN, 0}, {err_read.get(), POLLIN, 0}};
    const int ready = poll(fds, 2, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) break;
    if (fds[0].revents != 0) {
      char* into = reinterpret_cast<char*>(result.output.data()) + result.output_size;
      const std::size_t room = result.output.size() - result.output_size;
      const ssize_t n = room > 0 ? read(out_read.get(), into, room) : 0;
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        if (room == 0) result.overflow = true;
        out_read.Reset();
      } else {
        result.output_size += static_cast<std::size_t>(n);
      }
    }
    if (fds[1].revents != 0) {
      char buffer[4096];
      const ssize_t n = read(err_read.get(), buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        err_read.Reset();
      } else if (result.stderr_text.size() < 2 * kMaxQuotedStderr) {
        result.stderr_text.append(buffer, static_cast<std::size_t>(n));
      }
    }
  }
}

// Waits for the shell to end, until the deadline: a helper that closed its
// pipes (`exec >&- 2>&-; sleep 25`) is still bound by it. Past the deadline
// (or at once when `kill_now`) its whole process group is killed, before the
// shell is reaped, so the group id cannot have been reused. Returns whether
// the deadline passed.
bool WaitWithDeadline(pid_t pid, Clock::time_point deadline, bool kill_now, int& wait_status) {
  bool timed_out = false;
  auto pause = std::chrono::milliseconds(1);
  while (!kill_now) {
    const pid_t done = waitpid(pid, &wait_status, WNOHANG);
    if (done == pid) return false;
    if (done < 0 && errno != EINTR) return false;
    const auto now = Clock::now();
    if (now >= deadline) {
      timed_out = true;
      break;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
    const auto step = std::min(pause, left);
    timespec sleep_for{static_cast<time_t>(step.count() / 1000), static_cast<long>(step.count() % 1000) * 1000000L};
    nanosleep(&sleep_for, nullptr);
    pause = std::min(pause * 2, std::chrono::milliseconds(20));
  }
  kill(-pid, SIGKILL);
  while (waitpid(pid, &wait_status, 0) < 0 && errno == EINTR) {
  }
  return timed_out;
}

}  // namespace

StatusOr<SecretBytes> RunKeyCommand(const std::string& command, int timeout_seconds, std::string_view what) {
  Fd out_read, out_write, err_read, err_write;
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return InternalError(std::string("pipe: ") + std::strerror(errno));
  *out_read.out() = out_pipe[0];
  *out_write.out() = out_pipe[1];
  if (pipe2(err_pipe, O_CLOEXEC) != 0) return InternalError(std::string("pipe: ") + std::strerror(errno));
  *err_read.out() = err_pipe[0];
  *err_write.out() = err_pipe[1];

  StatusOr<pid_t> spawned = SpawnShell(command, out_write.get(), err_write.get());
  if (!spawned.ok()) return spawned.status();
  const pid_t pid = *spawned;
  out_write.Reset();
  err_write.Reset();

  const Clock::time_point deadline = Clock::now() + std::chrono::seconds(timeout_seconds);
  CommandOutput result;
  ReadOutput(out_read, err_read, deadline, result);
  SecretBytes& output = result.output;
  std::size_t output_size = result.output_size;
  const std::string& stderr_text = result.stderr_text;
  const bool overflow = result.overflow;
  int wait_status = 0;
  const bool timed_out = WaitWithDeadline(pid, deadline, result.timed_out || overflow, wait_status) || result.timed_out;
  if (timed_out) {
    return CommandFailed(what, "did not finish within " + std::to_string(timeout_seconds) + " s (killed)", stderr_text);
  }
  if (overflow || output_size > kMaxStdout) {
    return CommandFailed(what, "printed more than 64 KiB: not a " + std::string(what), stderr_text);
  }
  if (WIFSIGNALED(wait_status)) {
    return CommandFailed(what, "was killed by signal " + std::to_string(WTERMSIG(wait_status)), stderr_text);
  }
  if (!WIFEXITED(wait_status) || WEXITSTATUS(wait_status) != 0) {
    return CommandFailed(what, "exited with status " + std::to_string(WEXITSTATUS(wait_status)), stderr_text);
  }
  if (output_size > 0 && output.data()[output_size - 1] == '\n') --output_size;
  if (output_size > 0 && output.data()[output_size - 1] == '\r') --output_size;
  if (output_size == 0) return CommandFailed(what, "printed nothing on stdout", stderr_text);
  SecretBytes key(output.data(), output_size);
  return key;  // `output` is zeroized when it goes
}

}  // namespace credvault::crypto
