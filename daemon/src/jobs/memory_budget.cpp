#include "jobs/memory_budget.h"

#include <cstdio>
#include <fstream>
#include <sstream>

namespace wb::daemon {

namespace {

std::optional<std::uint64_t> mem_available() {
  std::ifstream f("/proc/meminfo");
  std::string key, unit;
  std::uint64_t kb = 0;
  while (f >> key >> kb >> unit)
    if (key == "MemAvailable:") return kb * 1024;
  return std::nullopt;
}

std::optional<std::uint64_t> read_number(const std::string& path) {
  std::ifstream f(path);
  std::string text;
  if (!(f >> text) || text == "max") return std::nullopt;
  try {
    return std::stoull(text);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// cgroup v2: the line "0::/some/path" of /proc/self/cgroup names our group.
std::optional<std::uint64_t> cgroup_room() {
  std::ifstream f("/proc/self/cgroup");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("0::", 0) != 0) continue;
    const std::string dir = "/sys/fs/cgroup" + line.substr(3);
    auto max = read_number(dir + "/memory.max");
    if (!max) return std::nullopt;
    auto current = read_number(dir + "/memory.current").value_or(0);
    return *max > current ? *max - current : 0;
  }
  return std::nullopt;
}

void take(MemoryBudget& b, std::optional<std::uint64_t> bound, const char* source) {
  if (bound && (!b.bytes || *bound < *b.bytes)) {
    b.bytes = bound;
    b.source = source;
  }
}

}  // namespace

MemoryBudget job_memory_budget(std::uint64_t max_job_memory) {
  MemoryBudget b;
  take(b, mem_available(), "MemAvailable");
  take(b, cgroup_room(), "the cgroup's memory.max less memory.current");
  if (max_job_memory > 0) take(b, max_job_memory, "jobs.max_job_memory");
  return b;
}

std::string human_bytes(std::uint64_t bytes) {
  char buf[64];
  if (bytes >= (1ull << 30)) std::snprintf(buf, sizeof buf, "%.1f GiB", double(bytes) / double(1ull << 30));
  else if (bytes >= (1ull << 20)) std::snprintf(buf, sizeof buf, "%.1f MiB", double(bytes) / double(1ull << 20));
  else std::snprintf(buf, sizeof buf, "%llu bytes", static_cast<unsigned long long>(bytes));
  return buf;
}

}  // namespace wb::daemon
