#include "methods.h"

#include "wb/plugin/host.h"
#include "requests.h"
#include "resolve.h"
#include "wb/plugin/device.h"
#include "rm_scorer.h"
#include "wb/plugin/spec.h"
#include "wb/reward/pair_eval.h"
#include "wb/reward/pair_sampler.h"
#include "wb/reward/scoring.h"

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

json reward_score(const json& request) {
  const ScoreRequest q = parse_score(request);
  llama::DeviceChoice device = plugin::choose_device(q.device, "");
  const ResolvedRm r = resolve_reward_model("rm", q.rm);
  const llama::Model<float>& base = r.base->model;
  plugin::fit_gpu_memory(device, q.device, base.weights.numel(), /*full=*/false);
  const int64_t max_len = r.rm->max_len ? r.rm->max_len : base.config.max_position_embeddings;
  json out = {{"rm", q.rm}, {"kind", r.kind}, {"device", device.cuda ? "cuda" : "cpu"}};
  if (!q.items.empty()) {
    std::vector<std::vector<int32_t>> seqs;
    for (const auto& it : q.items) seqs.push_back(encode_scored(r.base->tok, it.prompt, it.response, max_len));
    out["scores"] = rm_scorer(r, device)(seqs);
    return out;
  }
  const auto ds = plugin::Host::lookup("dataset", q.dataset);
  if (!ds) throw plugin::HostError(WB_NOT_FOUND, "unknown dataset '" + q.dataset + "'");
  if (ds->value("kind", "") != "preference")
    plugin::spec_fail("dataset", "'" + q.dataset + "' is a " + ds->value("kind", "?") + " dataset, not a preference dataset");
  std::vector<EncodedPair> pairs;
  plugin::JobHost(nullptr).rows(q.dataset, q.split, [&](int64_t index, const json& row) {
    pairs.push_back(encode_pair(r.base->tok, parse_preference_row(row, index), max_len, index));
    return q.limit == 0 || static_cast<int64_t>(pairs.size()) < q.limit;
  });
  const Margins margins = kPaperMargins;  // only the report's "loss" depends on them
  const PairScores sc = score_pairs(rm_scorer(r, device), pairs);
  json rows = json::array();
  for (size_t i = 0; i < pairs.size(); ++i) {
    json row = {{"index", pairs[i].row},
                {"chosen", sc.chosen[i]},
                {"rejected", sc.rejected[i]},
                {"difference", sc.chosen[i] - sc.rejected[i]},
                {"correct", sc.chosen[i] > sc.rejected[i]}};
    if (pairs[i].rating >= 0) row["rating"] = pairs[i].rating;
    if (!pairs[i].safety.empty()) row["safety"] = pairs[i].safety;
    rows.push_back(std::move(row));
  }
  out["dataset"] = q.dataset;
  out["split"] = q.split.empty() ? "all" : q.split;
  out.update(accuracy_of(pairs, sc, margins).to_json());
  out["rows"] = std::move(rows);
  return out;
}

}  // namespace wb::reward
