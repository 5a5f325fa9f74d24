#include "vault/connection_pool.hpp"

namespace credvault::vault {

ConnectionPool::ConnectionPool(std::string conninfo, std::size_t max_connections)
    : conninfo_(std::move(conninfo)), max_connections_(max_connections == 0 ? 1 : max_connections) {}

ConnectionPool::Lease::~Lease() {
  if (pool_ != nullptr && conn_ != nullptr) pool_->Release(std::move(conn_), true);
}

void ConnectionPool::Lease::Discard() {
  if (pool_ != nullptr && conn_ != nullptr) pool_->Release(std::move(conn_), false);
}

StatusOr<ConnectionPool::Lease> ConnectionPool::Acquire() {
  std::unique_lock<std::mutex> lock(mutex_);
  available_.wait(lock, [&] { return !idle_.empty() || open_ < max_connections_; });
  if (!idle_.empty()) {
    auto conn = std::move(idle_.back());
    idle_.pop_back();
    return Lease(this, std::move(conn));
  }
  ++open_;
  lock.unlock();
  auto conn = db::Connection::Open(conninfo_, "credvault vault");
  if (!conn.ok()) {
    std::lock_guard<std::mutex> relock(mutex_);
    --open_;
    available_.notify_one();
    return conn.status();
  }
  return Lease(this, std::move(conn).value());
}

void ConnectionPool::Release(std::unique_ptr<db::Connection> conn, bool reusable) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (reusable && conn->is_open()) {
    idle_.push_back(std::move(conn));
  } else {
    conn.reset();
    --open_;
  }
  available_.notify_one();
}

}  // namespace credvault::vault
