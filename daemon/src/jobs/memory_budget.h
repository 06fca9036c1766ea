// memory_budget.h — how much host memory a new job may plan to use, checked at submission
// against the plugin's estimate (wb_plugin.estimate).
//
// The budget is the smallest of: MemAvailable (/proc/meminfo), the daemon's cgroup v2 room
// (memory.max - memory.current, when memory.max is not "max"), and config jobs.max_job_memory
// (when non-zero). Each bound found is named, so a refusal can say which one decided.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace wb::daemon {

struct MemoryBudget {
  std::optional<std::uint64_t> bytes;  // nullopt: no bound could be read
  std::string source;                  // "MemAvailable", "cgroup memory.max", "jobs.max_job_memory"
};

// max_job_memory: the configured cap (0 = none).
MemoryBudget job_memory_budget(std::uint64_t max_job_memory);

// "1.5 GiB" / "12.0 MiB" / "900 bytes": for messages.
std::string human_bytes(std::uint64_t bytes);

}  // namespace wb::daemon
