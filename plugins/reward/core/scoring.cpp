#include "wb/reward/scoring.h"

#include <stdexcept>

#include "wb/llama/chat_template.h"
#include "wb/llama/head_scorer.h"
#include "wb/llama/safetensors.h"

namespace wb::reward {
namespace fs = std::filesystem;

std::vector<int32_t> encode_scored(const llama::Tokenizer& tok, const std::string& prompt,
                                   const std::string& response, int64_t max_len) {
  if (max_len < 2) throw std::invalid_argument("max_len must be >= 2");
  const llama::ChatMessage msgs[] = {{"user", prompt}, {"assistant", response}};
  std::vector<int32_t> ids = llama::render_llama2_chat(tok, msgs).ids;
  if (static_cast<int64_t>(ids.size()) > max_len) {
    std::vector<int32_t> cut;
    cut.reserve(static_cast<size_t>(max_len));
    cut.push_back(ids.front());  // BOS
    cut.insert(cut.end(), ids.end() - (max_len - 1), ids.end());
    ids = std::move(cut);
  }
  return ids;
}

void save_reward_head(const fs::path& dir, const llama::ScalarHead<float>& head) {
  llama::SafetensorsWriter w;
  w.add_f32("score.weight", {1, head.weight.numel()}, head.weight.data);
  w.add_f32("score.bias", {1}, head.bias.data);
  fs::create_directories(dir);
  w.write(dir / kHeadFile);
}

llama::ScalarHead<float> load_reward_head(const fs::path& dir, int64_t hidden) {
  const fs::path file = dir / kHeadFile;
  if (!fs::is_regular_file(file)) throw std::runtime_error(file.string() + ": missing (not a reward adapter?)");
  const llama::SafetensorsFile f(file);
  llama::ScalarHead<float> h = llama::ScalarHead<float>::zeros(hidden);
  const auto& wi = f.info("score.weight");
  if (wi.numel() != hidden || wi.shape.size() > 2 || (wi.shape.size() == 2 && wi.shape[0] != 1))
    throw std::runtime_error(file.string() + ": score.weight must be [1, " + std::to_string(hidden) + "]");
  if (f.info("score.bias").numel() != 1) throw std::runtime_error(file.string() + ": score.bias must be [1]");
  f.read_f32_into("score.weight", h.weight.data);
  f.read_f32_into("score.bias", h.bias.data);
  return h;
}

std::vector<float> score_sequences(const llama::Model<float>& base, const llama::LoraAdapter<float>* adapter,
                                   const llama::ScalarHead<float>& head,
                                   const std::vector<std::vector<int32_t>>& seqs, int64_t max_seqs) {
  return llama::score_head(base, adapter, head, seqs, max_seqs);
}

SequenceScorer cpu_scorer(const llama::Model<float>& base, const llama::LoraAdapter<float>* adapter,
                          const llama::ScalarHead<float>& head, int64_t max_seqs) {
  return [&base, adapter, &head, max_seqs](const std::vector<std::vector<int32_t>>& seqs) {
    return score_sequences(base, adapter, head, seqs, max_seqs);
  };
}

}  // namespace wb::reward
