#include "methods.h"

#include "requests.h"
#include "resolve.h"
#include "wb/reward/pair_sampler.h"

namespace wb::reward {
using nlohmann::json;

json label_pair(const json& request) {
  const LabelPairRequest q = parse_label_pair(request);
  const auto base = resolve_model(q.model);
  std::shared_ptr<const LoadedAdapter> ad_a, ad_b;
  if (!q.a.adapter.empty()) ad_a = resolve_adapter("a.adapter", q.a.adapter, *base);
  if (!q.b.adapter.empty()) ad_b = resolve_adapter("b.adapter", q.b.adapter, *base);
  const SamplerSide a{ad_a ? &ad_a->lora : nullptr, q.a.temperature};
  const SamplerSide b{ad_b ? &ad_b->lora : nullptr, q.b.temperature};
  const auto pairs = sample_pairs(*base, {q.prompt}, a, b, q.max_tokens, q.seed);
  return {{"response_a", pairs[0].a},
          {"response_b", pairs[0].b},
          {"model_a", side_label(q.model, q.a.adapter, q.a.temperature)},
          {"model_b", side_label(q.model, q.b.adapter, q.b.temperature)}};
}

}  // namespace wb::reward
