#include "adapter_registry.h"

#include <cmath>
#include <system_error>

#include "wb/plugin/error.h"
#include "wb/llama/adapter_io.h"

namespace wb::serve {

namespace fs = std::filesystem;

ResidentAdapter::ResidentAdapter(std::string n, uint64_t v, fs::path p, double s, llama::LoraAdapter<float> l,
                                 std::unique_ptr<const llama::DeviceAdapter> d, std::shared_ptr<std::atomic<int64_t>> total)
    : name(std::move(n)), version(v), path(std::move(p)), scale(s), lora(std::move(l)), device(std::move(d)),
      total_(std::move(total)) {
  bytes = device ? device->bytes() : lora.numel() * static_cast<int64_t>(sizeof(float));
  *total_ += bytes;
}

ResidentAdapter::~ResidentAdapter() { *total_ -= bytes; }

AdapterRegistry::AdapterRegistry(const llama::LlamaConfig& base, int64_t max_adapters, int64_t max_rank,
                                 llama::AdapterUpload upload)
    : base_(base), max_adapters_(max_adapters), max_rank_(max_rank), upload_(std::move(upload)) {}

std::shared_ptr<const ResidentAdapter> AdapterRegistry::load(const std::string& name, const fs::path& dir,
                                                             double scale) {
  if (name.empty()) throw plugin::PluginError(WB_INVALID, "adapter name must not be empty");
  if (!std::isfinite(scale)) throw plugin::PluginError(WB_INVALID, "adapter '" + name + "': scale must be a finite number");
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw plugin::PluginError(WB_NOT_FOUND, "adapter '" + name + "': no adapter directory at " + dir.string());
  {  // Cheap refusal before reading anything when the table is full.
    std::lock_guard lock(mu_);
    if (!by_name_.count(name) && static_cast<int64_t>(by_name_.size()) >= max_adapters_)
      throw plugin::PluginError(WB_BUSY, "adapter '" + name + "': " + std::to_string(max_adapters_) +
                                    " adapters are resident (max_adapters); unload one first");
  }
  llama::LoraAdapter<float> lora;
  try {
    lora = llama::load_adapter(dir, base_);  // reads, converts and checks every shape
  } catch (const std::exception& e) {
    throw plugin::PluginError(WB_INVALID, "adapter '" + name + "': " + e.what());
  }
  if (lora.config.r > max_rank_)
    throw plugin::PluginError(WB_INVALID, "adapter '" + name + "': rank " + std::to_string(lora.config.r) +
                                     " exceeds the serving limit of " + std::to_string(max_rank_) + " (max_rank)");
  std::unique_ptr<const llama::DeviceAdapter> device;
  if (upload_) {  // before publishing: a failure leaves the old version in place
    try {
      device = upload_(lora);
    } catch (const std::exception& e) {
      throw plugin::PluginError(WB_ERROR, "adapter '" + name + "': copying it to the GPU failed: " + e.what());
    }
  }
  auto entry = std::make_shared<const ResidentAdapter>(name, next_version_++, dir, scale, std::move(lora),
                                                       std::move(device), total_);
  std::shared_ptr<const ResidentAdapter> old;
  {
    std::lock_guard lock(mu_);
    auto it = by_name_.find(name);
    if (it == by_name_.end() && static_cast<int64_t>(by_name_.size()) >= max_adapters_)
      throw plugin::PluginError(WB_BUSY, "adapter '" + name + "': " + std::to_string(max_adapters_) +
                                    " adapters are resident (max_adapters); unload one first");
    if (it != by_name_.end()) {
      old = std::move(it->second);
      retired_.push_back(old);
      it->second = entry;
    } else {
      by_name_.emplace(name, entry);
    }
  }
  return entry;  // `old` is released here, outside the lock (it may free the last reference)
}

void AdapterRegistry::unload(const std::string& name) {
  std::shared_ptr<const ResidentAdapter> old;
  {
    std::lock_guard lock(mu_);
    auto it = by_name_.find(name);
    if (it == by_name_.end()) throw plugin::PluginError(WB_NOT_FOUND, "adapter '" + name + "' is not loaded");
    old = std::move(it->second);
    by_name_.erase(it);
    retired_.push_back(old);
  }
}

std::shared_ptr<const ResidentAdapter> AdapterRegistry::find(const std::string& name) const {
  std::lock_guard lock(mu_);
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

size_t AdapterRegistry::size() const {
  std::lock_guard lock(mu_);
  return by_name_.size();
}

std::vector<AdapterRegistry::Info> AdapterRegistry::list() const {
  auto info = [](const ResidentAdapter& a, long refs, bool resident) {
    return Info{a.name, a.version, refs, a.scale, a.lora.config.r, a.lora.config.lora_alpha, a.bytes,
                a.path.string(), resident};
  };
  std::vector<Info> out;
  std::lock_guard lock(mu_);
  for (const auto& [name, a] : by_name_) out.push_back(info(*a, a.use_count() - 1, true));  // minus the table's
  std::vector<std::weak_ptr<const ResidentAdapter>> alive;
  for (auto& w : retired_) {
    // lock() adds one reference of our own while we look.
    if (auto a = w.lock()) {
      out.push_back(info(*a, a.use_count() - 1, false));
      alive.push_back(w);
    }
  }
  retired_.swap(alive);
  return out;
}

}  // namespace wb::serve
