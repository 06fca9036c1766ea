#include "wb/reward/model_cache.h"

#include <stdexcept>

#include "wb/llama/adapter_io.h"
#include "wb/llama/model_io.h"
#include "wb/reward/reward_config.h"
#include "wb/reward/scoring.h"

namespace wb::reward {
namespace fs = std::filesystem;

ModelCache::Stamp ModelCache::stamp(const fs::path& dir) {
  if (!fs::is_directory(dir)) throw std::runtime_error(dir.string() + ": not a directory");
  Stamp s;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    s.mtime = std::max<int64_t>(s.mtime, e.last_write_time().time_since_epoch().count());
    s.bytes += e.file_size();
  }
  return s;
}

std::shared_ptr<const LoadedModel> ModelCache::model(const std::string& name, const fs::path& dir) {
  std::lock_guard lock(mu_);
  const std::string key = name + "\n" + dir.string();
  const Stamp st = stamp(dir);
  auto it = models_.find(key);
  if (it != models_.end() && it->second.first == st) return it->second.second;
  const fs::path tok_path = dir / "tokenizer.model";
  if (!fs::is_regular_file(tok_path))
    throw std::runtime_error("model '" + name + "' has no tokenizer.model in " + dir.string());
  auto m = std::make_shared<LoadedModel>(
      LoadedModel{name, dir, llama::load_model<float>(dir), llama::Tokenizer(tok_path)});
  if (m->tok.vocab_size() != m->model.config.vocab_size)
    throw std::runtime_error("model '" + name + "': tokenizer vocabulary differs from config vocab_size");
  models_[key] = {st, m};
  return m;
}

std::shared_ptr<const LoadedAdapter> ModelCache::adapter(const std::string& name, const fs::path& dir,
                                                         const LoadedModel& base) {
  std::lock_guard lock(mu_);
  const std::string key = name + "\n" + dir.string() + "\n" + base.dir.string();
  const Stamp st = stamp(dir);
  auto it = adapters_.find(key);
  if (it != adapters_.end() && it->second.first == st) return it->second.second;
  auto a = std::make_shared<LoadedAdapter>(LoadedAdapter{name, dir, llama::load_adapter(dir, base.model.config), {}, 0});
  if (fs::exists(dir / kHeadFile)) a->head = load_reward_head(dir, base.model.config.hidden_size);
  if (fs::exists(dir / kRewardConfigFile)) a->max_len = load_reward_config(dir).max_len;
  adapters_[key] = {st, a};
  return a;
}

void ModelCache::clear() {
  std::lock_guard lock(mu_);
  models_.clear();
  adapters_.clear();
}

}  // namespace wb::reward
