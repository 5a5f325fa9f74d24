// Status and StatusOr: a failed StatusOr's value is never read silently.
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <functional>
#include <string>

#include "credvault/status.hpp"

using credvault::InvalidArgumentError;
using credvault::StatusOr;

namespace {

struct ChildOutcome {
  bool aborted = false;
  std::string stderr_text;
};

// Runs `body` in a forked child with stderr captured: the death test.
ChildOutcome RunInChild(const std::function<void()>& body) {
  int pipe_fds[2];
  REQUIRE(pipe(pipe_fds) == 0);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    close(pipe_fds[0]);
    dup2(pipe_fds[1], STDERR_FILENO);
    // Catch2's handler would report the abort as a failure of its own.
    std::signal(SIGABRT, SIG_DFL);
    body();
    _exit(0);
  }
  close(pipe_fds[1]);
  ChildOutcome outcome;
  char buffer[512];
  ssize_t n;
  while ((n = read(pipe_fds[0], buffer, sizeof buffer)) > 0) outcome.stderr_text.append(buffer, static_cast<size_t>(n));
  close(pipe_fds[0]);
  int wait_status = 0;
  REQUIRE(waitpid(pid, &wait_status, 0) == pid);
  outcome.aborted = WIFSIGNALED(wait_status) && WTERMSIG(wait_status) == SIGABRT;
  return outcome;
}

StatusOr<std::string> Failed() { return InvalidArgumentError("the key is malformed"); }

}  // namespace

TEST_CASE("StatusOr value() of an error aborts with the status message", "[status]") {
  SECTION("value()") {
    auto outcome = RunInChild([] { (void)Failed().value(); });
    CHECK(outcome.aborted);
    CHECK(outcome.stderr_text.find("invalid argument: the key is malformed") != std::string::npos);
  }
  SECTION("operator*") {
    auto outcome = RunInChild([] {
      auto failed = Failed();
      (void)*failed;
    });
    CHECK(outcome.aborted);
    CHECK(outcome.stderr_text.find("the key is malformed") != std::string::npos);
  }
  SECTION("operator->") {
    auto outcome = RunInChild([] {
      const auto failed = Failed();
      (void)failed->size();
    });
    CHECK(outcome.aborted);
  }
}

TEST_CASE("StatusOr value() of a value returns it", "[status]") {
  StatusOr<std::string> good(std::string("abc"));
  REQUIRE(good.ok());
  CHECK(good.value() == "abc");
  CHECK(good->size() == 3);
  CHECK(std::move(good).value() == "abc");
}

TEST_CASE("StatusOr built from an ok Status is an internal error", "[status]") {
  StatusOr<int> odd(credvault::Status::Ok());
  CHECK_FALSE(odd.ok());
  CHECK(odd.status().code() == credvault::StatusCode::kInternal);
}
