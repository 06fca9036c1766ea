#include "wb/plugin/host.h"

#include <exception>

namespace wb::plugin {
namespace {

const wb_host* g_host = nullptr;

void append_text(void* user, const char* text) { *static_cast<std::string*>(user) = text ? text : ""; }

void check(wb_status st, const wb_error& err, const std::string& what) {
  if (st != WB_OK) throw HostError(st, what + ": " + err.message);
}

}  // namespace

void Host::install(const wb_host* host, const std::string& plugin) {
  if (!host || host->abi_version < 3 || !WB_STRUCT_HAS(host, wb_host, register_artifact))
    throw std::runtime_error(plugin + " plugin: the daemon's host table is older than ABI 3 or incomplete");
  g_host = host;
}
bool Host::installed() { return g_host != nullptr; }

const wb_host& Host::table() {
  if (!g_host) throw std::logic_error("plugin: host table used before init()");
  return *g_host;
}

std::filesystem::path Host::data_dir() { return std::filesystem::path(table().data_dir(Host::table().ctx)); }

void Host::log(wb_log_level level, const std::string& message) { table().log(Host::table().ctx, level, message.c_str()); }

std::optional<json> Host::lookup(const std::string& kind, const std::string& name, wb_job* job) {
  std::string text;
  wb_error err{};
  const wb_status st = table().lookup(Host::table().ctx, job, kind.c_str(), name.c_str(), append_text, &text, &err);
  if (st == WB_NOT_FOUND) return std::nullopt;
  check(st, err, "lookup of " + kind + " '" + name + "'");
  return json::parse(text);
}

void JobHost::log(wb_log_level level, const std::string& message) const {
  Host::table().job_log(Host::table().ctx, job_, level, message.c_str());
}

void JobHost::progress(double fraction, const std::string& phase) const {
  Host::table().job_progress(Host::table().ctx, job_, fraction, phase.c_str());
}

void JobHost::metric(int64_t step, const std::string& name, double value) const {
  Host::table().job_metric(Host::table().ctx, job_, step, name.c_str(), value);
}

bool JobHost::cancelled() const { return Host::table().job_cancelled(Host::table().ctx, job_) != 0; }
bool JobHost::shutting_down() const { return Host::table().job_shutting_down(Host::table().ctx, job_) != 0; }

void JobHost::checkpoint(const std::filesystem::path& dir) const {
  wb_error err{};
  check(Host::table().job_checkpoint(Host::table().ctx, job_, dir.c_str(), &err), err, "recording checkpoint " + dir.string());
}

std::filesystem::path JobHost::dir() const { return std::filesystem::path(Host::table().job_dir(Host::table().ctx, job_)); }

namespace {
struct RowState {
  const std::function<bool(int64_t, const json&)>* fn;
  std::exception_ptr error;
};
int row_trampoline(void* user, int64_t index, const char* row_json) {
  auto* s = static_cast<RowState*>(user);
  try {
    return (*s->fn)(index, json::parse(row_json)) ? 0 : 1;
  } catch (...) {
    s->error = std::current_exception();  // rethrown after the host returns
    return 1;
  }
}
}  // namespace

void JobHost::rows(const std::string& dataset, const std::string& split,
                   const std::function<bool(int64_t, const json&)>& on_row) const {
  RowState state{&on_row, nullptr};
  wb_error err{};
  const wb_status st = Host::table().dataset_rows(Host::table().ctx, job_, dataset.c_str(), split.empty() ? nullptr : split.c_str(), 0,
                                                  0, row_trampoline, &state, &err);
  if (state.error) std::rethrow_exception(state.error);
  check(st, err, "reading dataset '" + dataset + "'");
}

void JobHost::insert_comparison(const std::string& dataset, const json& comparison) const {
  wb_error err{};
  const std::string text = comparison.dump();
  check(Host::table().comparison_insert(Host::table().ctx, job_, dataset.c_str(), text.c_str(), &err), err,
        "inserting a comparison into '" + dataset + "'");
}

void JobHost::register_artifact(const std::string& kind, const json& artifact) const {
  wb_error err{};
  const std::string text = artifact.dump();
  check(Host::table().register_artifact(Host::table().ctx, job_, kind.c_str(), text.c_str(), &err), err,
        "registering " + kind + " '" + artifact.value("name", std::string("?")) + "'");
}

}  // namespace wb::plugin
