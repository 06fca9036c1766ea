#include "resolve.h"

#include "wb/plugin/adapter_base.h"
#include "wb/plugin/host.h"
#include "wb/plugin/spec.h"

namespace wb::reward {
using plugin::Host;
using plugin::HostError;
using plugin::check_adapter_base;
using plugin::spec_fail;

ModelCache& plugin_cache() {
  static ModelCache cache;
  return cache;
}

namespace {
nlohmann::json record(const std::string& kind, const std::string& name, wb_job* job) {
  auto rec = Host::lookup(kind, name, job);
  if (!rec) throw HostError(WB_NOT_FOUND, "unknown " + kind + " '" + name + "'");
  return *rec;
}
}  // namespace

std::shared_ptr<const LoadedModel> resolve_model(const std::string& name, wb_job* job) {
  const auto rec = record("model", name, job);
  return plugin_cache().model(name, rec.at("path").get<std::string>());
}

std::shared_ptr<const LoadedAdapter> resolve_adapter(const std::string& field, const std::string& name,
                                                     const LoadedModel& base, wb_job* job) {
  const auto rec = record("adapter", name, job);
  check_adapter_base(field, name, rec, base.name);
  return plugin_cache().adapter(name, rec.at("path").get<std::string>(), base);
}

ResolvedRm resolve_reward_model(const std::string& field, const std::string& name, wb_job* job) {
  const auto rec = record("adapter", name, job);
  const std::string kind = rec.value("kind", "");
  if (kind != "reward_helpfulness" && kind != "reward_safety")
    spec_fail(field, "adapter '" + name + "' is a " + kind + " adapter, not a reward model");
  ResolvedRm r;
  r.kind = kind;
  r.base = resolve_model(rec.at("base_model").get<std::string>(), job);
  r.rm = plugin_cache().adapter(name, rec.at("path").get<std::string>(), *r.base);
  if (!r.rm->head) spec_fail(field, "adapter '" + name + "' has no score.safetensors head");
  return r;
}

}  // namespace wb::reward
