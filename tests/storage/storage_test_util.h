// Helpers for the storage tests: a unique temporary directory per test case (removed on
// destruction), whole-file read/write, and raw row counts.
#pragma once


#include <filesystem>

#include "wb_temp_dir.h"
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

#include "wb/storage/store.h"

namespace wb::storage::test {

using TempDir = wbtest::TempDir;  // tests/common/wb_temp_dir.h

inline void write_file(const std::filesystem::path& p, std::string_view text) {
  std::ofstream out(p, std::ios::binary);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  if (!out) throw std::runtime_error("cannot write " + p.string());
}

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// SELECT count(*) FROM <table> through the store's own connection.
inline std::int64_t count_rows(Store& store, std::string_view table) {
  auto lock = store.connection().lock();
  auto st = store.connection().db().prepare("SELECT count(*) FROM " + std::string(table));
  st.step();
  return st.column_int64(0);
}

}  // namespace wb::storage::test
