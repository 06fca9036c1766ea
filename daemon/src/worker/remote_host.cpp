#include "worker/remote_host.h"

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>

#include "jobs/job_context.h"

namespace wb::worker {
namespace {

using nlohmann::json;

// The one RemoteHost of this process: what the context-free ABI 2 functions reach.
std::atomic<RemoteHost*> g_remote{nullptr};

RemoteHost& remote(void* ctx) { return *static_cast<RemoteHost*>(ctx); }
const char* str(const char* s) { return s ? s : ""; }

const char* level_name(wb_log_level l) {
  switch (l) {
    case WB_LOG_DEBUG: return "debug";
    case WB_LOG_WARN: return "warn";
    case WB_LOG_ERROR: return "error";
    default: return "info";
  }
}

// Turns a reply into the call's status, writing its message into `err`.
wb_status answer(const json& reply, wb_error* err) {
  const auto st = static_cast<wb_status>(reply.value("status", int(WB_ERROR)));
  if (st != WB_OK) wb_error_set(err, reply.value("message", std::string("the daemon answered no message")).c_str());
  return st;
}

// Host functions never let an exception out (a channel failure ends the process anyway).
template <class F>
wb_status guarded(wb_error* err, F&& fn) {
  try {
    return fn();
  } catch (const std::exception& e) {
    wb_error_set(err, e.what());
    return WB_ERROR;
  } catch (...) {
    wb_error_set(err, "unknown error");
    return WB_ERROR;
  }
}

template <class F>
void quiet(F&& fn) {
  try {
    fn();
  } catch (...) {
  }
}

void h_log(void* ctx, wb_log_level level, const char* message) {
  quiet([&] { remote(ctx).report({{"type", "daemon_log"}, {"level", level_name(level)}, {"message", str(message)}}); });
}
void h_job_log(void* ctx, wb_job* job, wb_log_level level, const char* message) {
  if (!job) return;
  quiet([&] { remote(ctx).report({{"type", "log"}, {"level", level_name(level)}, {"message", str(message)}}); });
}
void h_job_progress(void* ctx, wb_job* job, double fraction, const char* phase) {
  if (!job) return;
  if (!(fraction >= 0)) fraction = 0;  // NaN as well
  quiet([&] { remote(ctx).report({{"type", "progress"}, {"fraction", fraction}, {"phase", str(phase)}}); });
}
void h_job_metric(void* ctx, wb_job* job, int64_t step, const char* name, double value) {
  if (!job) return;
  // JSON has no NaN or infinity: they travel as null and are dropped by the daemon's reading.
  quiet([&] { remote(ctx).report({{"type", "metric"}, {"step", step}, {"name", str(name)}, {"value", value}}); });
}
int h_job_cancelled(void* ctx, wb_job* job) { return job && remote(ctx).cancelled() ? 1 : 0; }
int h_job_shutting_down(void* ctx, wb_job* job) { return job && remote(ctx).shutting_down() ? 1 : 0; }
wb_status h_job_checkpoint(void* ctx, wb_job* job, const char* path, wb_error* err) {
  return guarded(err, [&] {
    if (!job) {
      wb_error_set(err, "job handle is NULL");
      return WB_INVALID;
    }
    return answer(remote(ctx).call({{"fn", "checkpoint"}, {"path", str(path)}}), err);
  });
}
const char* h_job_dir(void*, wb_job* job) { return job ? job->dir.c_str() : ""; }
const char* h_data_dir(void* ctx) { return remote(ctx).data_dir().c_str(); }
wb_status h_lookup(void* ctx, wb_job*, const char* kind, const char* name, wb_emit_fn emit, void* user, wb_error* err) {
  return guarded(err, [&] {
    json r = remote(ctx).call({{"fn", "lookup"}, {"kind", str(kind)}, {"name", str(name)}});
    wb_status st = answer(r, err);
    if (st == WB_OK && emit) emit(user, r.value("result", std::string()).c_str());
    return st;
  });
}
wb_status h_dataset_rows(void* ctx, wb_job*, const char* dataset, const char* split, int64_t offset, int64_t limit,
                         int (*row)(void*, int64_t, const char*), void* user, wb_error* err) {
  return guarded(err, [&] {
    // A page per call, so a large dataset never travels as one message.
    const std::int64_t page = 512;
    std::int64_t delivered = 0, pos = offset;
    for (;;) {
      std::int64_t want = page;
      if (limit > 0) want = std::min(page, limit - delivered);
      if (want <= 0) break;
      json call = {{"fn", "dataset_rows"}, {"dataset", str(dataset)}, {"offset", pos}, {"limit", want}};
      if (split) call["split"] = split;
      json r = remote(ctx).call(std::move(call));
      wb_status st = answer(r, err);
      if (st != WB_OK) return st;
      const json& rows = r["result"];
      for (const json& x : rows) {
        if (row && row(user, x.at(0).get<std::int64_t>(), x.at(1).get_ref<const std::string&>().c_str()) != 0)
          return WB_OK;
        ++delivered;
      }
      if (static_cast<std::int64_t>(rows.size()) < want) break;
      pos += static_cast<std::int64_t>(rows.size());
    }
    return WB_OK;
  });
}
wb_status h_comparison_insert(void* ctx, wb_job*, const char* dataset, const char* comparison_json, wb_error* err) {
  return guarded(err, [&] {
    return answer(remote(ctx).call({{"fn", "comparison_insert"}, {"dataset", str(dataset)}, {"comparison", str(comparison_json)}}), err);
  });
}
wb_status h_register_artifact(void* ctx, wb_job*, const char* kind, const char* artifact_json, wb_error* err) {
  return guarded(err, [&] {
    return answer(remote(ctx).call({{"fn", "register_artifact"}, {"kind", str(kind)}, {"artifact", str(artifact_json)}}), err);
  });
}

// ---- ABI 2: the same without the context argument ----
void* g() { return g_remote.load(); }
void v2_log(wb_log_level l, const char* m) { h_log(g(), l, m); }
void v2_job_log(wb_job* j, wb_log_level l, const char* m) { h_job_log(g(), j, l, m); }
void v2_job_progress(wb_job* j, double f, const char* p) { h_job_progress(g(), j, f, p); }
void v2_job_metric(wb_job* j, int64_t s, const char* n, double v) { h_job_metric(g(), j, s, n, v); }
int v2_job_cancelled(wb_job* j) { return h_job_cancelled(g(), j); }
int v2_job_shutting_down(wb_job* j) { return h_job_shutting_down(g(), j); }
wb_status v2_job_checkpoint(wb_job* j, const char* p, wb_error* e) { return h_job_checkpoint(g(), j, p, e); }
const char* v2_job_dir(wb_job* j) { return h_job_dir(g(), j); }
const char* v2_data_dir() { return h_data_dir(g()); }
wb_status v2_lookup(wb_job* j, const char* k, const char* n, wb_emit_fn emit, void* u, wb_error* e) {
  return h_lookup(g(), j, k, n, emit, u, e);
}
wb_status v2_dataset_rows(wb_job* j, const char* d, const char* s, int64_t o, int64_t l,
                          int (*row)(void*, int64_t, const char*), void* u, wb_error* e) {
  return h_dataset_rows(g(), j, d, s, o, l, row, u, e);
}
wb_status v2_comparison_insert(wb_job* j, const char* d, const char* c, wb_error* e) {
  return h_comparison_insert(g(), j, d, c, e);
}
wb_status v2_register_artifact(wb_job* j, const char* k, const char* a, wb_error* e) {
  return h_register_artifact(g(), j, k, a, e);
}

}  // namespace

RemoteHost::RemoteHost(Transport& channel, const json& start)
    : ch_(channel), data_dir_(start.value("data_dir", "")) {
  cancelled_ = start.value("cancelled", false);
  shutting_down_ = start.value("shutting_down", false);
  table_ = wb_host{WB_PLUGIN_ABI_VERSION, sizeof(wb_host), this, h_log, h_job_log, h_job_progress, h_job_metric,
                   h_job_cancelled, h_job_shutting_down, h_job_checkpoint, h_job_dir, h_data_dir, h_lookup,
                   h_dataset_rows, h_comparison_insert, h_register_artifact};
  table_v2_ = daemon::abi_v2::wb_host{2, sizeof(daemon::abi_v2::wb_host), v2_log, v2_job_log, v2_job_progress,
                                      v2_job_metric, v2_job_cancelled, v2_job_shutting_down, v2_job_checkpoint,
                                      v2_job_dir, v2_data_dir, v2_lookup, v2_dataset_rows, v2_comparison_insert,
                                      v2_register_artifact};
  g_remote.store(this);
  const auto every = std::chrono::milliseconds(std::max<std::int64_t>(10, start.value("heartbeat_ms", std::int64_t(15000))));
  reader_ = std::thread([this] { read_loop(); });
  heartbeat_ = std::thread([this, every] { heartbeat_loop(every); });
}

RemoteHost::~RemoteHost() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stopping_ = true;
    cv_.notify_all();
  }
  heartbeat_.join();
  ch_.close_read();  // the reader sees the end of the stream and returns
  reader_.join();
  g_remote.store(nullptr);
}

void RemoteHost::report(json message) {
  try {
    ch_.send(message);
  } catch (const ChannelError& e) {
    std::fprintf(stderr, "wb-worker: %s\n", e.what());
    std::_Exit(70);  // the daemon is gone
  }
}

void RemoteHost::send_result(wb_status status, const std::string& message) {
  report({{"type", "result"}, {"status", int(status)}, {"message", message}});
}

json RemoteHost::call(json message) {
  std::int64_t id;
  {
    std::lock_guard<std::mutex> lk(mu_);
    id = ++next_id_;
  }
  message["type"] = "call";
  message["id"] = id;
  report(std::move(message));
  std::unique_lock<std::mutex> lk(mu_);
  cv_.wait(lk, [&] { return replies_.count(id) > 0; });
  json r = std::move(replies_[id]);
  replies_.erase(id);
  return r;
}

void RemoteHost::read_loop() {
  for (;;) {
    std::optional<json> m;
    try {
      m = ch_.receive();
    } catch (const ChannelError& e) {
      std::fprintf(stderr, "wb-worker: %s\n", e.what());
    }
    if (!m) {
      std::lock_guard<std::mutex> lk(mu_);
      if (stopping_) return;
      std::_Exit(70);  // the daemon closed the channel: nothing more can be recorded
    }
    const std::string type = m->value("type", "");
    if (type == "reply") {
      const std::int64_t id = m->value("id", std::int64_t(0));  // read before *m is moved from
      std::lock_guard<std::mutex> lk(mu_);
      replies_[id] = std::move(*m);
      cv_.notify_all();
    } else if (type == "cancel") {
      cancelled_ = true;
    } else if (type == "shutdown") {
      shutting_down_ = true;
    }
  }
}

void RemoteHost::heartbeat_loop(std::chrono::milliseconds every) {
  std::unique_lock<std::mutex> lk(mu_);
  while (!cv_.wait_for(lk, every, [&] { return stopping_; })) {
    lk.unlock();
    report({{"type", "heartbeat"}});
    lk.lock();
  }
}

}  // namespace wb::worker
