// rs_data.h — the rejection_sampling job's SFT data: the kept answers of a round as the engine
// trainer's micro-batches (prompt + answer, loss on the answer tokens only), served round by round
// through one DataSource so a single Trainer (one AdamW state) runs every round's SFT pass; and
// the kept answers on disk, so a restarted job resumes with what earlier rounds kept.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "wb/llama/trainer.h"
#include "wb/rlhf/rejection_sampling.h"
#include "wb/rlhf/rollout.h"

namespace wb::rlhf {

// steps micro-batches of batch_size kept answers each, drawn in a seeded order (every answer once
// per pass, reshuffled each pass). Row i of a sequence predicts token i + 1; only rows predicting
// an answer token (EOS included) count. Throws std::invalid_argument when an answer is missing.
std::vector<llama::TrainBatch> kept_answer_batches(const std::vector<Prompt>& prompts,
                                                   const std::vector<KeptAnswer>& kept, int64_t batch_size,
                                                   int64_t steps, uint64_t seed);

// The current round's micro-batches, in order. position() is {"index": i}; seek() before set()
// (a resumed trainer loads first) keeps the index for the next set(..., keep_index = true).
class RoundData : public llama::DataSource {
 public:
  void set(std::vector<llama::TrainBatch> batches, bool keep_index);
  llama::TrainBatch next() override;
  nlohmann::json position() const override;
  void seek(const nlohmann::json& pos) override;

 private:
  std::vector<llama::TrainBatch> batches_;
  size_t index_ = 0;
};

// <file> holds {"rounds": R, "kept": [...]}, written atomically (a sibling, then rename).
void save_kept(const std::filesystem::path& file, const RejectionSampler& sampler);
// Restores the sampler from <file> when it exists; returns whether it did. Throws
// std::runtime_error naming the file when it is malformed or holds another prompt count.
bool load_kept(const std::filesystem::path& file, RejectionSampler& sampler, size_t n_prompts);

}  // namespace wb::rlhf
