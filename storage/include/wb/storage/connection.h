// wb/storage/connection.h — one Database shared by the repositories, guarded by a mutex.
//
// Every repository method takes the lock for its whole body (including its transaction), so each
// public method is atomic and safe to call from any thread. Hold the lock yourself (lock()) only
// to group several raw statements; repository methods must not be called while holding it.
#pragma once

#include <mutex>

#include "wb/storage/database.h"

namespace wb::storage {

class Connection {
 public:
  explicit Connection(Database db) : db_(std::move(db)) {}

  std::unique_lock<std::mutex> lock() { return std::unique_lock<std::mutex>(mutex_); }
  Database& db() noexcept { return db_; }  // use only while holding lock()

 private:
  std::mutex mutex_;
  Database db_;
};

}  // namespace wb::storage
