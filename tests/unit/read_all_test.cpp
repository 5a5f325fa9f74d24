// ReadAll (put's stdin): signals are retried, read errors are reported.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "cli/read_all.hpp"

using credvault::cli::ReadAll;

namespace {

void IgnoreAlarm(int) {}

// A pipe whose read end is returned; a forked child writes `text` into it
// after `delay_ms` and exits. Call FinishWriter afterwards.
int PipeWrittenLater(const std::string& text, int delay_ms, pid_t* writer) {
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  *writer = fork();
  REQUIRE(*writer >= 0);
  if (*writer == 0) {
    close(fds[0]);
    usleep(static_cast<useconds_t>(delay_ms) * 1000);
    _exit(write(fds[1], text.data(), text.size()) == static_cast<ssize_t>(text.size()) ? 0 : 1);
  }
  close(fds[1]);
  return fds[0];
}

void FinishWriter(int read_fd, pid_t writer) {
  close(read_fd);
  int status = 0;
  waitpid(writer, &status, 0);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

}  // namespace

TEST_CASE("ReadAll reports a read error instead of an empty input", "[put][read_all]") {
  int fd = open(".", O_RDONLY | O_DIRECTORY);  // read() on a directory fails with EISDIR
  REQUIRE(fd >= 0);
  auto input = ReadAll(fd);
  close(fd);
  REQUIRE_FALSE(input.ok());
  CHECK(input.status().message().find("cannot read the input") != std::string::npos);
}

TEST_CASE("ReadAll retries a read interrupted by a signal", "[put][read_all]") {
  const std::string text = "{\"client_id\": \"abc\"}";
  pid_t writer = 0;
  // Written long after the read below was interrupted.
  const int fd = PipeWrittenLater(text, 300, &writer);
  // A handler without SA_RESTART: the blocked read() returns EINTR.
  struct sigaction action {};
  struct sigaction previous {};
  action.sa_handler = IgnoreAlarm;
  sigemptyset(&action.sa_mask);
  REQUIRE(sigaction(SIGALRM, &action, &previous) == 0);
  itimerval timer{};
  timer.it_value.tv_usec = 50 * 1000;
  REQUIRE(setitimer(ITIMER_REAL, &timer, nullptr) == 0);
  auto input = ReadAll(fd);
  sigaction(SIGALRM, &previous, nullptr);
  FinishWriter(fd, writer);
  REQUIRE(input.ok());
  CHECK(std::string(input->view()) == text);
}

TEST_CASE("ReadAll reads more than one buffer", "[put][read_all]") {
  const std::string big(10000, 'x');
  pid_t writer = 0;
  const int fd = PipeWrittenLater(big, 0, &writer);
  auto input = ReadAll(fd);
  FinishWriter(fd, writer);
  REQUIRE(input.ok());
  CHECK(std::string(input->view()) == big);
}
