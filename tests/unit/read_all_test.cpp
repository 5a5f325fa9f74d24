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
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  pid_t writer = fork();
  REQUIRE(writer >= 0);
  if (writer == 0) {
    close(fds[0]);
    usleep(300 * 1000);  // long after the parent's read was interrupted
    const char text[] = "{\"client_id\": \"abc\"}";
    if (write(fds[1], text, sizeof text - 1) != static_cast<ssize_t>(sizeof text - 1)) _exit(1);
    _exit(0);
  }
  close(fds[1]);
  // A handler without SA_RESTART: the blocked read() returns EINTR.
  struct sigaction action {};
  struct sigaction previous {};
  action.sa_handler = IgnoreAlarm;
  sigemptyset(&action.sa_mask);
  REQUIRE(sigaction(SIGALRM, &action, &previous) == 0);
  itimerval timer{};
  timer.it_value.tv_usec = 50 * 1000;
  REQUIRE(setitimer(ITIMER_REAL, &timer, nullptr) == 0);
  auto input = ReadAll(fds[0]);
  sigaction(SIGALRM, &previous, nullptr);
  close(fds[0]);
  int status = 0;
  waitpid(writer, &status, 0);
  REQUIRE(input.ok());
  CHECK(std::string(input->view()) == "{\"client_id\": \"abc\"}");
}

TEST_CASE("ReadAll reads more than one buffer", "[put][read_all]") {
  const std::string big(10000, 'x');
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  pid_t writer = fork();
  REQUIRE(writer >= 0);
  if (writer == 0) {
    close(fds[0]);
    if (write(fds[1], big.data(), big.size()) != static_cast<ssize_t>(big.size())) _exit(1);
    _exit(0);
  }
  close(fds[1]);
  auto input = ReadAll(fds[0]);
  close(fds[0]);
  waitpid(writer, nullptr, 0);
  REQUIRE(input.ok());
  CHECK(std::string(input->view()) == big);
}
