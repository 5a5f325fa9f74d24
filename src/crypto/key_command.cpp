#include "crypto/key_command.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <vector>

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

bool HidesFromChild(const char* entry) {
  for (const char* name : {"SECRET_KEY=", "SECRET_KEY_FALLBACKS=", "CREDVAULT_PKCS11_PIN="}) {
    if (std::strncmp(entry, name, std::strlen(name)) == 0) return true;
  }
  return false;
}

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

Status CommandFailed(const std::string& what, const std::string& stderr_text) {
  return InvalidArgumentError("exec: key command " + what + "; " + Quote(stderr_text), "key_command");
}

// Starts `/bin/sh -c command` in its own process group, stdin from
// /dev/null, stdout and stderr on the given descriptors, without the key
// variables in its environment; returns its pid.
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
    if (!HidesFromChild(*entry)) env.push_back(*entry);
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

// Reads the command's stdout and stderr until both close, stdout outgrows
// kMaxStdout, or `timeout_seconds` pass.
void ReadOutput(Fd& out_read, Fd& err_read, int timeout_seconds, CommandOutput& result) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
  while (out_read.get() >= 0 || err_read.get() >= 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
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

}  // namespace

StatusOr<SecretBytes> RunKeyCommand(const std::string& command, int timeout_seconds) {
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

  CommandOutput result;
  ReadOutput(out_read, err_read, timeout_seconds, result);
  SecretBytes& output = result.output;
  std::size_t output_size = result.output_size;
  const std::string& stderr_text = result.stderr_text;
  const bool timed_out = result.timed_out, overflow = result.overflow;
  if (timed_out || overflow) kill(-pid, SIGKILL);
  int wait_status = 0;
  while (waitpid(pid, &wait_status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) {
    return CommandFailed("did not finish within " + std::to_string(timeout_seconds) + " s (killed)", stderr_text);
  }
  if (overflow || output_size > kMaxStdout) return CommandFailed("printed more than 64 KiB: not a key", stderr_text);
  if (WIFSIGNALED(wait_status)) {
    return CommandFailed("was killed by signal " + std::to_string(WTERMSIG(wait_status)), stderr_text);
  }
  if (!WIFEXITED(wait_status) || WEXITSTATUS(wait_status) != 0) {
    return CommandFailed("exited with status " + std::to_string(WEXITSTATUS(wait_status)), stderr_text);
  }
  if (output_size > 0 && output.data()[output_size - 1] == '\n') --output_size;
  if (output_size > 0 && output.data()[output_size - 1] == '\r') --output_size;
  if (output_size == 0) return CommandFailed("printed nothing on stdout", stderr_text);
  SecretBytes key(output.data(), output_size);
  return key;  // `output` is zeroized when it goes
}

}  // namespace credvault::crypto
