// A small pool of database connections shared by the threads using a Vault.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "credvault/status.hpp"
#include "db/connection.hpp"

namespace credvault::vault {

class ConnectionPool {
 public:
  ConnectionPool(std::string conninfo, std::size_t max_connections);

  // A connection for the duration of one call; returned to the pool when the
  // lease dies, or dropped if it broke (the next Acquire opens a fresh one).
  class Lease {
   public:
    Lease(ConnectionPool* pool, std::unique_ptr<db::Connection> conn) : pool_(pool), conn_(std::move(conn)) {}
    Lease(Lease&&) = default;
    ~Lease();
    db::Connection& operator*() { return *conn_; }
    db::Connection* operator->() { return conn_.get(); }
    // The connection failed: close it instead of returning it to the pool.
    void Discard();

   private:
    ConnectionPool* pool_;
    std::unique_ptr<db::Connection> conn_;
  };

  // Waits while all max_connections are leased.
  StatusOr<Lease> Acquire();

 private:
  void Release(std::unique_ptr<db::Connection> conn, bool reusable);

  const std::string conninfo_;
  const std::size_t max_connections_;
  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<db::Connection>> idle_;
  std::size_t open_ = 0;
};

}  // namespace credvault::vault
