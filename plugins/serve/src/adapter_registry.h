// AdapterRegistry: the serve plugin's resident LoRA adapters, by name.
//
//   AdapterRegistry reg(model.config, /*max_adapters=*/8, /*max_rank=*/64);
//   reg.load("support", "/data/adapters/support", 1.0);     // read + validated, then published
//   std::shared_ptr<const ResidentAdapter> a = reg.find("support");   // a request keeps this
//   reg.unload("support");       // find() answers nullptr at once; `a` stays valid
//   a.reset();                   // last reference: the tensors are freed, bytes() drops
//
// Publishing is atomic: load() reads and converts the PEFT directory with no lock held, then
// swaps the name's entry under a mutex, so a request sees either the old version or the new
// one, never a mix (each entry is immutable and has a version number unique in the registry).
// Reloading a name replaces it for new requests; running requests keep the version they
// started with. Validation happens before anything is replaced: a missing directory, a file
// that is not a PEFT LoRA adapter, shapes that do not fit the base model, a rank over max_rank
// or a full table (max_adapters) leave the registry as it was. Thread-safe.
//
// On the GPU the engine gives the registry its backend's llama::AdapterUpload (wb/llama/decode_backend.h): a
// load then also copies the adapter to the device, before publishing (a failed upload leaves the
// old version in place), and the device copy lives exactly as long as the entry — it is freed
// when the last request holding that version ends. bytes() then counts device bytes.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "wb/llama/decode_backend.h"
#include "wb/llama/config.h"
#include "wb/llama/lora.h"

namespace wb::serve {

// One immutable loaded version of an adapter. Counts its tensor bytes (the device copy's when
// there is one, else the host tensors') into the registry's total for as long as it lives (until
// the last request holding it ends).
struct ResidentAdapter {
  std::string name;
  uint64_t version = 0;
  std::filesystem::path path;
  double scale = 1.0;               // default request adapter_scale (multiplies alpha/r)
  llama::LoraAdapter<float> lora;
  std::unique_ptr<const llama::DeviceAdapter> device;  // the backend's copy (GPU), or null (CPU)
  int64_t bytes = 0;                // tensor bytes (device bytes when `device` is set)

  ResidentAdapter(std::string name, uint64_t version, std::filesystem::path path, double scale,
                  llama::LoraAdapter<float> lora, std::unique_ptr<const llama::DeviceAdapter> device,
                  std::shared_ptr<std::atomic<int64_t>> total);
  ~ResidentAdapter();
  // What a backend sequence decodes with (wb/llama/decode_backend.h): these tensors and the
  // backend's copy of them.
  llama::AdapterRef ref() const { return {&lora, device.get(), name}; }
  ResidentAdapter(const ResidentAdapter&) = delete;
  ResidentAdapter& operator=(const ResidentAdapter&) = delete;

 private:
  std::shared_ptr<std::atomic<int64_t>> total_;
};

class AdapterRegistry {
 public:
  // upload: the backend's device copy of each loaded adapter (empty: none, the CPU).
  AdapterRegistry(const llama::LlamaConfig& base, int64_t max_adapters, int64_t max_rank,
                  llama::AdapterUpload upload = {});

  // Reads `dir` (PEFT layout), checks it against the base model and the limits, and publishes
  // it as `name` (a new version). scale must be finite. Throws plugin::PluginError: WB_INVALID (bad name,
  // scale, files, shapes, rank), WB_NOT_FOUND (no such directory), WB_BUSY (max_adapters
  // resident and `name` is not one of them), WB_ERROR (the device copy failed, e.g. out of
  // device memory).
  std::shared_ptr<const ResidentAdapter> load(const std::string& name, const std::filesystem::path& dir,
                                              double scale);
  // Removes `name`: new lookups fail at once; holders keep their reference. WB_NOT_FOUND if absent.
  void unload(const std::string& name);
  // The current version of `name`, or nullptr.
  std::shared_ptr<const ResidentAdapter> find(const std::string& name) const;

  struct Info {
    std::string name;
    uint64_t version = 0;
    long refs = 0;          // running/queued requests holding this version
    double scale = 1.0;
    int64_t rank = 0;
    double alpha = 0;
    int64_t bytes = 0;
    std::string path;
    bool resident = true;   // false: unloaded or replaced, alive only for running requests
  };
  // Resident adapters by name, then retired versions still held by requests.
  std::vector<Info> list() const;
  // Tensor bytes of every adapter version alive (resident or retired but still referenced).
  int64_t bytes() const { return total_->load(); }
  size_t size() const;

 private:
  llama::LlamaConfig base_;
  int64_t max_adapters_, max_rank_;
  llama::AdapterUpload upload_;
  std::shared_ptr<std::atomic<int64_t>> total_ = std::make_shared<std::atomic<int64_t>>(0);
  std::atomic<uint64_t> next_version_{1};
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<const ResidentAdapter>> by_name_;
  mutable std::vector<std::weak_ptr<const ResidentAdapter>> retired_;
};

}  // namespace wb::serve
