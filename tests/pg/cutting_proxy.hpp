// A TCP proxy between the CLI and PostgreSQL that cuts a connection in the
// middle of a COPY: the fault "network gone while a batch is being copied",
// which pg_terminate_backend cannot aim at. It reads the frontend protocol
// (startup packet, then type byte + length) on the way to the server, counts
// CopyData messages per connection, and when one connection reaches
// `cut_after_copy_rows` it forwards half of the next CopyData message and
// closes both sides. Other connections pass through untouched.
#pragma once

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace credvault::testing {

class CuttingProxy {
 public:
  // Forwards to the server `upstream_host`:`upstream_port` (TCP) or, when
  // upstream_host starts with '/', to the Unix socket in that directory.
  CuttingProxy(std::string upstream_host, int upstream_port, long cut_after_copy_rows);
  ~CuttingProxy();
  CuttingProxy(const CuttingProxy&) = delete;
  CuttingProxy& operator=(const CuttingProxy&) = delete;

  int port() const { return port_; }                     // on 127.0.0.1
  bool cut_done() const { return cut_done_.load(); }     // a connection was cut inside a CopyData message
  long copy_rows_seen() const { return copy_rows_.load(); }

 private:
  void Accept();
  void Pump(int client, int server);
  int ConnectUpstream() const;

  std::string upstream_host_;
  int upstream_port_;
  long cut_after_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> cut_done_{false};
  std::atomic<long> copy_rows_{0};
  std::thread acceptor_;
  std::vector<std::thread> pumps_;
};

}  // namespace credvault::testing
