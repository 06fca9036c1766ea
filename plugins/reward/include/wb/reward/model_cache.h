// model_cache.h — loaded base models and adapters shared by the reward plugin's methods
// (label.pair, reward.score) and jobs, so repeated calls do not re-read weights.
//
//   ModelCache cache;
//   auto base = cache.model("pretrained", "/data/models/pretrained");      // shared_ptr<const>
//   auto rm = cache.adapter("rm-help", "/data/adapters/rm-help", *base);    // LoRA (+ head)
//
// Entries are keyed by (name, directory, and the base directory for adapters) and stamped with
// the newest modification time and total size of the directory's files: a directory rewritten
// in place (same name and path) is loaded again on the next request. Everything is behind one
// mutex, and loads happen under it (simple and safe; a load blocks other lookups meanwhile).
// Returned objects are immutable and stay valid while the caller holds them, even after the
// cache replaced them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "wb/llama/lora.h"
#include "wb/llama/model.h"
#include "wb/llama/tokenizer.h"

namespace wb::reward {

struct LoadedModel {
  std::string name;
  std::filesystem::path dir;
  llama::Model<float> model;  // no adapter, no head
  llama::Tokenizer tok;       // dir/tokenizer.model
};

struct LoadedAdapter {
  std::string name;
  std::filesystem::path dir;
  llama::LoraAdapter<float> lora;
  std::optional<llama::ScalarHead<float>> head;  // present for reward adapters (score.safetensors)
  int64_t max_len = 0;  // reward_config.json "max_len" (0: the base model's context length)
};

class ModelCache {
 public:
  // Throws (std::runtime_error / engine errors) naming the file that is missing or malformed.
  std::shared_ptr<const LoadedModel> model(const std::string& name, const std::filesystem::path& dir);
  // Loads the PEFT adapter checked against `base`'s config, plus the reward head when present.
  std::shared_ptr<const LoadedAdapter> adapter(const std::string& name, const std::filesystem::path& dir,
                                               const LoadedModel& base);
  void clear();

 private:
  struct Stamp {
    int64_t mtime = 0;
    uintmax_t bytes = 0;
    bool operator==(const Stamp&) const = default;
  };
  static Stamp stamp(const std::filesystem::path& dir);

  std::mutex mu_;
  std::map<std::string, std::pair<Stamp, std::shared_ptr<const LoadedModel>>> models_;
  std::map<std::string, std::pair<Stamp, std::shared_ptr<const LoadedAdapter>>> adapters_;
};

}  // namespace wb::reward
