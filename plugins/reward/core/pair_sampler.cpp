#include "wb/reward/pair_sampler.h"

#include <sstream>
#include <stdexcept>

#include "wb/llama/chat_template.h"
#include "wb/llama/generate.h"

namespace wb::reward {

std::vector<SampledPair> sample_pairs(const LoadedModel& m, const std::vector<std::string>& prompts,
                                      const SamplerSide& a, const SamplerSide& b, int64_t max_tokens,
                                      uint64_t seed) {
  if (max_tokens < 1) throw std::invalid_argument("max_tokens must be >= 1");
  const int64_t ctx = m.model.config.max_position_embeddings;
  std::vector<llama::GenerateRequest> reqs;
  reqs.reserve(prompts.size() * 2);
  for (size_t i = 0; i < prompts.size(); ++i) {
    const llama::ChatMessage msg[] = {{"user", prompts[i]}};
    const std::vector<int32_t> ids = llama::render_llama2_chat(m.tok, msg).ids;
    const int64_t room = ctx - static_cast<int64_t>(ids.size());
    if (room < 1)
      throw std::invalid_argument("prompt " + std::to_string(i) + " (" + std::to_string(ids.size()) +
                                  " tokens) does not fit the model's context of " + std::to_string(ctx));
    for (int side = 0; side < 2; ++side) {
      const SamplerSide& s = side == 0 ? a : b;
      llama::GenerateRequest r;
      r.prompt = ids;
      r.adapter = s.adapter;
      r.sampling.temperature = s.temperature;
      r.sampling.seed = seed + 2 * i + static_cast<uint64_t>(side);
      r.max_tokens = std::min(max_tokens, room);
      reqs.push_back(std::move(r));
    }
  }
  const auto out = llama::generate(m.model, reqs);
  std::vector<SampledPair> pairs(prompts.size());
  for (size_t i = 0; i < prompts.size(); ++i) {
    pairs[i].a = m.tok.decode(out[2 * i].tokens);
    pairs[i].b = m.tok.decode(out[2 * i + 1].tokens);
  }
  return pairs;
}

std::string side_label(const std::string& model, const std::string& adapter, double temperature) {
  std::ostringstream os;
  os << model;
  if (!adapter.empty()) os << "+" << adapter;
  os << "@T=" << temperature;
  return os.str();
}

}  // namespace wb::reward
