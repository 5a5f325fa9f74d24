#include "cutting_proxy.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <stdexcept>

namespace credvault::testing {
namespace {

constexpr std::uint32_t kSslRequest = 80877103;
constexpr std::uint32_t kGssEncRequest = 80877104;

std::uint32_t ReadInt32(const std::string& buffer, std::size_t at) {
  std::uint32_t value;
  std::memcpy(&value, buffer.data() + at, 4);
  return ntohl(value);
}

bool SendAll(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    ssize_t sent = ::send(fd, data, size, MSG_NOSIGNAL);
    if (sent <= 0) return false;
    data += sent;
    size -= static_cast<std::size_t>(sent);
  }
  return true;
}

}  // namespace

CuttingProxy::CuttingProxy(std::string upstream_host, int upstream_port, long cut_in_batch)
    : upstream_host_(std::move(upstream_host)), upstream_port_(upstream_port), cut_after_(cut_in_batch) {
  listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  if (listener_ < 0 || ::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(listener_, 64) != 0 || ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    throw std::runtime_error("cutting proxy: cannot listen on 127.0.0.1");
  }
  port_ = ntohs(address.sin_port);
  acceptor_ = std::thread([this] { Accept(); });
}

CuttingProxy::~CuttingProxy() {
  stopping_ = true;
  ::shutdown(listener_, SHUT_RDWR);
  ::close(listener_);
  acceptor_.join();
  for (auto& pump : pumps_) pump.join();
}

int CuttingProxy::ConnectUpstream() const {
  if (!upstream_host_.empty() && upstream_host_[0] == '/') {
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::snprintf(address.sun_path, sizeof address.sun_path, "%s/.s.PGSQL.%d", upstream_host_.c_str(), upstream_port_);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      ::close(fd);
      return -1;
    }
    return fd;
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(upstream_host_.c_str(), std::to_string(upstream_port_).c_str(), &hints, &found) != 0) return -1;
  int fd = -1;
  for (addrinfo* a = found; a != nullptr && fd < 0; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype, a->ai_protocol);
    if (fd >= 0 && ::connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(found);
  return fd;
}

void CuttingProxy::Accept() {
  while (!stopping_) {
    int client = ::accept(listener_, nullptr, nullptr);
    if (client < 0) continue;
    int server = ConnectUpstream();
    if (server < 0) {
      ::close(client);
      continue;
    }
    pumps_.emplace_back([this, client, server] { Pump(client, server); });
  }
}

// Server bytes go through as they come; client bytes are forwarded message
// by message so that a cut can land inside a batch's Bind ('B') message.
void CuttingProxy::Pump(int client, int server) {
  std::string pending;  // client bytes not yet forwarded (an incomplete message)
  bool startup = true;  // untyped messages until the startup packet
  long batches = 0;
  char chunk[65536];
  pollfd fds[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
  bool open = true;
  while (open && !stopping_) {
    if (::poll(fds, 2, 100) <= 0) continue;
    if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = ::recv(server, chunk, sizeof chunk, 0);
      if (n <= 0 || !SendAll(client, chunk, static_cast<std::size_t>(n))) break;
    }
    if (!(fds[0].revents & (POLLIN | POLLHUP | POLLERR))) continue;
    ssize_t n = ::recv(client, chunk, sizeof chunk, 0);
    if (n <= 0) break;
    pending.append(chunk, static_cast<std::size_t>(n));
    for (;;) {
      const std::size_t header = startup ? 4 : 5;
      if (pending.size() < header) break;
      const std::size_t length = ReadInt32(pending, header - 4) + (startup ? 0 : 1);
      if (pending.size() < length) break;
      if (startup) {
        const std::uint32_t code = length >= 8 ? ReadInt32(pending, 4) : 0;
        startup = code == kSslRequest || code == kGssEncRequest;
      } else if (pending[0] == 'B' && length >= kBatchBindBytes && ++batches == cut_after_) {
        (void)SendAll(server, pending.data(), length / 2);
        cut_done_ = true;
        open = false;
        break;
      } else if (pending[0] == 'B' && length >= kBatchBindBytes) {
        ++batches_;
      }
      if (!SendAll(server, pending.data(), length)) {
        open = false;
        break;
      }
      pending.erase(0, length);
    }
  }
  ::shutdown(client, SHUT_RDWR);
  ::shutdown(server, SHUT_RDWR);
  ::close(client);
  ::close(server);
}

}  // namespace credvault::testing
