// A TCP proxy between the CLI and PostgreSQL that cuts a connection in the
// middle of sending a batch: the fault "network gone while a batch is on the
// wire", which pg_terminate_backend cannot aim at. It reads the frontend
// protocol (startup packet, then type byte + length) on the way to the
// server and counts, per connection, the Bind messages of at least
// kBatchBindBytes (a row job's batch travels as the array parameters of one
// statement; every other statement's parameters are small). When a
// connection sends its `cut_in_batch`-th such message, the proxy forwards
// half of it and closes both sides. Other connections pass through untouched.
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
  static constexpr std::size_t kBatchBindBytes = 8192;
  CuttingProxy(std::string upstream_host, int upstream_port, long cut_in_batch);
  ~CuttingProxy();
  CuttingProxy(const CuttingProxy&) = delete;
  CuttingProxy& operator=(const CuttingProxy&) = delete;

  int port() const { return port_; }                     // on 127.0.0.1
  bool cut_done() const { return cut_done_.load(); }     // a connection was cut inside a batch
  long batches_seen() const { return batches_.load(); }  // batches forwarded whole, all connections

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
  std::atomic<long> batches_{0};
  std::thread acceptor_;
  std::vector<std::thread> pumps_;
};

}  // namespace credvault::testing
