// filler — ABI 3 test plugin for job kind "fill": a job whose checkpoints grow, to run a disk out
// of space, and whose memory estimate is given by its spec.
//
// spec {"steps": N, "checkpoint_kib": K, "step_ms": M, "need_bytes": B}: N steps of M ms; after
// step s the checkpoint <job_dir>/checkpoint.bin holds s*K KiB (written to checkpoint.tmp, then
// renamed over the old one, then recorded with job_checkpoint), so the steps done are its size.
// A write that fails with ENOSPC, EDQUOT or EFBIG removes the partial file, keeps the previous
// checkpoint and returns WB_NO_SPACE. With "resume_from" it continues after the checkpoint's step
// and reports metric "resumed_at". estimate() emits {"bytes": B, "parts": {"activations": B}}.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <sys/stat.h>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "wb/wb_plugin.h"

namespace {

using nlohmann::json;
const wb_host* g_host = nullptr;

struct Spec {
  std::int64_t steps = 0, checkpoint_kib = 64, step_ms = 1;
  std::uint64_t need_bytes = 0;
  std::string resume_from;
};

bool parse(const char* text, Spec& s, wb_error* err) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    wb_error_set(err, "spec: expected a JSON object");
    return false;
  }
  for (auto& [k, v] : j.items()) {
    if (k == "resume_from" && v.is_string()) s.resume_from = v.get<std::string>();
    else if (k == "job_id") continue;
    else if (!v.is_number_unsigned()) {
      wb_error_set(err, ("field 'spec." + k + "': expected a non-negative integer").c_str());
      return false;
    } else if (k == "steps") s.steps = v.get<std::int64_t>();
    else if (k == "checkpoint_kib") s.checkpoint_kib = v.get<std::int64_t>();
    else if (k == "step_ms") s.step_ms = v.get<std::int64_t>();
    else if (k == "need_bytes") s.need_bytes = v.get<std::uint64_t>();
    else {
      wb_error_set(err, ("field 'spec." + k + "': unknown field").c_str());
      return false;
    }
  }
  return true;
}

// Writes `bytes` zero bytes to `path`; returns 0 or the errno of the failed call.
int write_file(const std::string& path, std::int64_t bytes) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return errno;
  std::vector<char> block(64 * 1024, 0);
  int rc = 0;
  for (std::int64_t left = bytes; left > 0 && rc == 0;) {
    ssize_t n = ::write(fd, block.data(), static_cast<std::size_t>(std::min<std::int64_t>(left, block.size())));
    if (n < 0) rc = errno;
    else left -= n;
  }
  if (rc == 0 && ::fsync(fd) != 0) rc = errno;
  ::close(fd);
  return rc;
}

wb_status fill_init(const wb_host* host, const char*, wb_error* err) {
  if (!host || host->abi_version < 3 || !WB_STRUCT_HAS(host, wb_host, job_dir)) {
    wb_error_set(err, "filler: host table too old");
    return WB_ERROR;
  }
  g_host = host;
  return WB_OK;
}

wb_status fill_validate(const char*, const char* spec, wb_error* err) {
  Spec s;
  return parse(spec, s, err) ? WB_OK : WB_INVALID;
}

wb_status fill_estimate(const char*, const char* spec, wb_emit_fn emit, void* user, wb_error* err) {
  Spec s;
  if (!parse(spec, s, err)) return WB_INVALID;
  emit(user, json{{"bytes", s.need_bytes}, {"parts", {{"activations", s.need_bytes}}}}.dump().c_str());
  return WB_OK;
}

wb_status fill_run(wb_job* job, const char*, const char* spec, wb_error* err) {
  Spec s;
  if (!parse(spec, s, err)) return WB_INVALID;
  void* ctx = g_host->ctx;
  const std::int64_t unit = s.checkpoint_kib * 1024;
  std::int64_t start = 0;
  if (!s.resume_from.empty()) {
    struct stat st {};
    if (::stat(s.resume_from.c_str(), &st) != 0 || unit == 0 || st.st_size % unit != 0) {
      wb_error_set(err, ("cannot read checkpoint " + s.resume_from).c_str());
      return WB_ERROR;
    }
    start = st.st_size / unit;
    g_host->job_metric(ctx, job, start, "resumed_at", double(start));
  }
  const std::string dir = g_host->job_dir(ctx, job);
  const std::string ckpt = dir + "/checkpoint.bin", tmp = dir + "/checkpoint.tmp";
  for (std::int64_t step = start; step < s.steps; ++step) {
    if (g_host->job_cancelled(ctx, job)) return g_host->job_shutting_down(ctx, job) ? WB_INTERRUPTED : WB_CANCELLED;
    std::this_thread::sleep_for(std::chrono::milliseconds(s.step_ms));
    if (int rc = write_file(tmp, (step + 1) * unit); rc != 0) {
      ::unlink(tmp.c_str());
      wb_error_set(err, ("writing checkpoint " + tmp + ": " + std::strerror(rc)).c_str());
      return rc == ENOSPC || rc == EDQUOT || rc == EFBIG ? WB_NO_SPACE : WB_IO;
    }
    if (std::rename(tmp.c_str(), ckpt.c_str()) != 0) {
      wb_error_set(err, ("renaming checkpoint: " + std::string(std::strerror(errno))).c_str());
      return WB_IO;
    }
    if (g_host->job_checkpoint(ctx, job, ckpt.c_str(), err) != WB_OK) return WB_ERROR;
    g_host->job_progress(ctx, job, double(step + 1) / double(s.steps), "fill");
    g_host->job_metric(ctx, job, step + 1, "size_kib", double((step + 1) * s.checkpoint_kib));
  }
  return WB_OK;
}

const char* const kKinds[] = {"fill", nullptr};

const wb_plugin kPlugin = [] {
  wb_plugin p{};
  p.abi_version = WB_PLUGIN_ABI_VERSION;
  p.struct_size = sizeof(wb_plugin);
  p.name = "filler";
  p.version = "1.0.0";
  p.job_kinds = kKinds;
  p.init = fill_init;
  p.validate = fill_validate;
  p.run = fill_run;
  p.estimate = fill_estimate;
  return p;
}();

}  // namespace

extern "C" WB_PLUGIN_EXPORT const wb_plugin* wb_plugin_entry(void) { return &kPlugin; }
