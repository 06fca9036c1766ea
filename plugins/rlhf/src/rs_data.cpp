#include "rs_data.h"

#include <fstream>
#include <stdexcept>
#include <string>

#include <unistd.h>

#include "wb/rlhf/dpo_data.h"

namespace wb::rlhf {
namespace fs = std::filesystem;
using nlohmann::json;

std::vector<llama::TrainBatch> kept_answer_batches(const std::vector<Prompt>& prompts,
                                                   const std::vector<KeptAnswer>& kept, int64_t batch_size,
                                                   int64_t steps, uint64_t seed) {
  if (kept.size() != prompts.size()) throw std::invalid_argument("rejection sampling: no kept answer for every prompt");
  const std::vector<size_t> order = dpo_draws(kept.size(), steps * batch_size, seed);
  std::vector<llama::TrainBatch> out;
  for (int64_t s = 0; s < steps; ++s) {
    std::vector<std::vector<int32_t>> seqs;
    llama::TrainBatch tb;
    for (int64_t b = 0; b < batch_size; ++b) {
      const size_t p = order[static_cast<size_t>(s * batch_size + b)];
      if (kept[p].response.empty()) throw std::invalid_argument("rejection sampling: prompt " + std::to_string(p) + " has no kept answer");
      std::vector<int32_t> seq = prompts[p].tokens;
      const size_t answer_from = seq.size();
      seq.insert(seq.end(), kept[p].response.begin(), kept[p].response.end());
      for (size_t i = 0; i < seq.size(); ++i) {
        const bool has_next = i + 1 < seq.size();
        tb.targets.push_back(has_next ? seq[i + 1] : -1);
        tb.mask.push_back(has_next && i + 1 >= answer_from ? 1.0f : 0.0f);
      }
      seqs.push_back(std::move(seq));
    }
    tb.batch = llama::Batch::pack(seqs);
    out.push_back(std::move(tb));
  }
  return out;
}

void RoundData::set(std::vector<llama::TrainBatch> batches, bool keep_index) {
  if (batches.empty()) throw std::invalid_argument("rejection sampling: a round with no SFT batches");
  batches_ = std::move(batches);
  if (!keep_index) index_ = 0;
}

llama::TrainBatch RoundData::next() {
  if (batches_.empty()) throw std::logic_error("rejection sampling: SFT data read before a round set it");
  return batches_[index_++ % batches_.size()];
}

json RoundData::position() const { return {{"index", index_}}; }

void RoundData::seek(const json& pos) {
  if (!pos.is_object() || !pos.contains("index") || !pos["index"].is_number_integer() || pos["index"].get<int64_t>() < 0)
    throw std::invalid_argument("rejection sampling data position " + pos.dump() + " is not {\"index\": n}");
  index_ = pos["index"].get<size_t>();
}

void save_kept(const fs::path& file, const RejectionSampler& sampler) {
  json kept = json::array();
  for (const auto& k : sampler.best())
    kept.push_back({{"response", k.response}, {"eos", k.eos}, {"helpfulness", k.scores.helpfulness},
                    {"safety", k.scores.safety}, {"combined", k.scores.combined}, {"round", k.round}});
  const fs::path tmp = file.string() + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream f(tmp, std::ios::trunc);
    f << json{{"rounds", sampler.rounds()}, {"kept", kept}}.dump() << "\n";
    f.flush();
    if (!f) throw std::runtime_error(tmp.string() + ": write failed");
  }
  fs::rename(tmp, file);
}

bool load_kept(const fs::path& file, RejectionSampler& sampler, size_t n_prompts) {
  if (!fs::exists(file)) return false;
  try {
    std::ifstream f(file);
    const json j = json::parse(f);
    std::vector<KeptAnswer> kept;
    for (const auto& k : j.at("kept")) {
      KeptAnswer a;
      a.response = k.at("response").get<std::vector<int32_t>>();
      a.eos = k.at("eos").get<bool>();
      a.scores = {k.at("helpfulness").get<double>(), k.at("safety").get<double>(), k.at("combined").get<double>()};
      a.round = k.at("round").get<int64_t>();
      kept.push_back(std::move(a));
    }
    if (!kept.empty() && kept.size() != n_prompts)
      throw std::invalid_argument("holds " + std::to_string(kept.size()) + " kept answers for " +
                                  std::to_string(n_prompts) + " prompts");
    sampler.restore(std::move(kept), j.at("rounds").get<int64_t>());
  } catch (const std::exception& e) {
    throw std::runtime_error(file.string() + ": " + e.what());
  }
  return true;
}

}  // namespace wb::rlhf
