#include "cli/read_all.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

namespace credvault::cli {

StatusOr<SecretBytes> ReadAll(int fd) {
  SecretBytes buffer(4096);
  std::size_t used = 0;
  for (;;) {
    if (used == buffer.size()) {
      SecretBytes bigger(buffer.size() * 2);
      std::copy(buffer.data(), buffer.data() + used, bigger.data());
      buffer = std::move(bigger);
    }
    ssize_t n = read(fd, buffer.data() + used, buffer.size() - used);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      return InvalidArgumentError(std::string("cannot read the input: ") + std::strerror(errno));
    }
    used += static_cast<std::size_t>(n);
  }
  return SecretBytes(buffer.data(), used);
}

}  // namespace credvault::cli
