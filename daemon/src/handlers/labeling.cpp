// /v1/comparisons/next and /v1/comparisons/stats: the daemon side of `wb label`.
//
// next: picks the next unlabeled prompt (storage), asks the plugin method label.pair for two
// responses, shuffles the sides so a labeler cannot learn a position, and answers everything the
// client sends back to POST /v1/comparisons when the label is done. Nothing is stored here.
#include <cmath>
#include <random>
#include <sstream>

#include "handlers/handlers.h"
#include "http/api_error.h"
#include "http/json_body.h"
#include "plugins/plugin_invoke.h"

namespace wb::daemon::handlers {

using nlohmann::json;

namespace {

constexpr int kEmptyTries = 3;            // samplings of one row before it counts as empty
constexpr std::size_t kMaxEmptyRows = 5;  // rows passed over in one request before giving up

void allow_only(const Request& req, std::initializer_list<const char*> allowed) {
  for (const auto& [k, v] : req.query) {
    bool ok = false;
    for (const char* a : allowed) ok = ok || k == a;
    if (!ok) throw invalid_request("unknown query parameter '" + k + "'");
  }
}

std::string required_query(const Request& req, const char* name) {
  auto it = req.query.find(name);
  if (it == req.query.end() || it->second.empty())
    throw invalid_request(std::string("query parameter '") + name + "' is required");
  return it->second;
}

std::optional<std::string> optional_query(const Request& req, const char* name) {
  auto it = req.query.find(name);
  if (it == req.query.end()) return std::nullopt;
  if (it->second.empty()) throw invalid_request(std::string("query parameter '") + name + "' must not be empty");
  return it->second;
}

// "0.7,1.2" (or one value for both sides); each 0..5.
std::pair<double, double> parse_temperatures(const std::string& text) {
  std::vector<double> values;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    std::size_t used = 0;
    double v = -1;
    try {
      v = std::stod(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != item.size() || !std::isfinite(v) || v < 0 || v > 5)
      throw invalid_request("query parameter 'temperatures': expected one or two numbers 0..5 separated by a comma, got '" +
                            text + "'");
    values.push_back(v);
  }
  if (values.empty() || values.size() > 2 || (!text.empty() && text.back() == ','))
    throw invalid_request("query parameter 'temperatures': expected one or two numbers 0..5 separated by a comma, got '" +
                          text + "'");
  return {values.front(), values.back()};
}

// One side of a label.pair request: no "adapter" means the base model.
json side(const std::optional<std::string>& adapter, double temperature) {
  json s = {{"temperature", temperature}};
  if (adapter) s["adapter"] = *adapter;
  return s;
}

// label.pair for `request` (prompt and options set), seeded from `seed`; each try after an
// empty answer uses another seed. null when every try had an empty response.
json sample_pair(App& app, json request, std::int64_t seed) {
  for (int attempt = 0; attempt < kEmptyTries; ++attempt) {
    request["seed"] = (seed + static_cast<std::int64_t>(attempt) * 1000003) % INT32_MAX;
    json pair = invoke_method(app.plugins, "label.pair", request);
    for (const char* k : {"response_a", "response_b", "model_a", "model_b"})
      if (!pair.contains(k) || !pair[k].is_string())
        throw ApiError(500, "plugin_error", std::string("label.pair answered without a string '") + k + "'");
    if (!pair["response_a"].get_ref<const std::string&>().empty() &&
        !pair["response_b"].get_ref<const std::string&>().empty())
      return pair;
  }
  return nullptr;
}

bool fair_coin() {
  static thread_local std::mt19937 rng{std::random_device{}()};
  return std::bernoulli_distribution(0.5)(rng);
}

}  // namespace

Response label_next(App& app, Request& req) {
  allow_only(req, {"prompts", "into", "model", "a", "b", "temperatures", "seed", "after", "annotator", "max_tokens"});
  const std::string prompts = required_query(req, "prompts");
  const std::string into = required_query(req, "into");
  const std::string model = required_query(req, "model");
  const auto adapter_a = optional_query(req, "a");
  const auto adapter_b = optional_query(req, "b");
  // With an annotator's token, "annotator" (this annotator's labels only) names the token's owner.
  auto annotator = optional_query(req, "annotator");
  if (annotator && req.annotator) annotator = req.annotator;
  auto temps = std::make_pair(0.7, 0.7);
  if (auto t = optional_query(req, "temperatures")) temps = parse_temperatures(*t);
  const std::int64_t seed = query_int("seed", req.query_or("seed", "0"), 0, INT32_MAX);
  const std::int64_t after = query_int("after", req.query_or("after", "-1"), -1, INT64_MAX);
  const std::int64_t max_tokens = query_int("max_tokens", req.query_or("max_tokens", "256"), 1, 4096);

  // label.pair samples the prompt as one user turn: a row's "system" text is not sent (it is
  // answered back so a client could show it). The seed depends on the row only, so every labeler
  // is shown the same pair for a prompt (with the same options): that is what makes pairs
  // labeled twice, and agreement, possible.
  json request = {{"model", model},
                  {"a", side(adapter_a, temps.first)},
                  {"b", side(adapter_b, temps.second)},
                  {"max_tokens", max_tokens}};
  // A row whose pair keeps coming back with an empty answer (e.g. greedy sampling that ends at
  // once) cannot be labeled: it is passed over and named in "skipped_empty".
  json skipped_empty = json::array();
  std::optional<storage::PromptToLabel> next;
  json pair;
  for (std::int64_t cursor = after;; cursor = next->index) {
    next = app.store.comparisons().next_unlabeled(
        prompts, into, cursor, annotator ? std::optional<std::string_view>(*annotator) : std::nullopt);
    if (!next)
      throw ApiError(404, "all_labeled",
                     "every prompt of dataset '" + prompts + "'" +
                         (after >= 0 ? " after row " + std::to_string(after) : "") + " is labeled into '" + into +
                         "'" + (annotator ? " by " + *annotator : "") +
                         (skipped_empty.empty() ? "" : " (rows the model answers with nothing: " +
                                                           skipped_empty.dump() + ")"));
    request["prompt"] = next->prompt;
    pair = sample_pair(app, request, seed + 2 * next->index);
    if (!pair.is_null()) break;
    skipped_empty.push_back(next->index);
    if (skipped_empty.size() == kMaxEmptyRows)
      throw ApiError(500, "plugin_error",
                     "the model answered an empty response to every try on rows " + skipped_empty.dump() +
                         "; check the model and the sampling options");
  }
  if (fair_coin()) {
    std::swap(pair["response_a"], pair["response_b"]);
    std::swap(pair["model_a"], pair["model_b"]);
  }
  json out = {{"dataset", into},
              {"prompts", prompts},
              {"index", next->index},
              {"remaining", next->remaining},
              {"prompt", next->prompt},
              {"is_safety_prompt", next->is_safety_prompt},
              {"response_a", pair["response_a"]},
              {"response_b", pair["response_b"]},
              {"model_a", pair["model_a"]},
              {"model_b", pair["model_b"]},
              {"skipped_empty", skipped_empty}};
  if (next->system) out["system"] = *next->system;
  return json_response(200, out);
}

Response label_stats(App& app, Request& req) {
  allow_only(req, {"dataset"});
  const auto dataset = optional_query(req, "dataset");
  const storage::LabelStats s =
      app.store.comparisons().stats(dataset ? std::optional<std::string_view>(*dataset) : std::nullopt);
  // Every label value appears (with 0) so clients can print fixed tables.
  json chosen = {{"a", 0}, {"b", 0}}, rating = {{"0", 0}, {"1", 0}, {"2", 0}, {"3", 0}};
  json safety = {{"both_safe", 0}, {"chosen_safe", 0}, {"both_unsafe", 0}};
  for (auto& [k, n] : s.chosen) chosen[k] = n;
  for (auto& [k, n] : s.rating) rating[std::to_string(k)] = n;
  for (auto& [k, n] : s.safety) safety[k] = n;
  const auto& g = s.agreement;
  auto rate = [&](std::int64_t n) { return g.couples ? json(static_cast<double>(n) / g.couples) : json(nullptr); };
  json couples = json::array();
  for (const auto& c : s.annotator_couples)
    couples.push_back({{"annotators", {c.first, c.second}},
                       {"pairs", c.pairs},
                       {"same_preference", c.same_preference},
                       {"preference_rate", static_cast<double>(c.same_preference) / c.pairs},
                       {"kappa", c.kappa ? json(*c.kappa) : json(nullptr)}});
  json out = {{"dataset", dataset ? json(*dataset) : json(nullptr)},
              {"total", s.total},
              {"safety_prompts", s.safety_prompts},
              {"chosen", chosen},
              {"rating", rating},
              {"safety", safety},
              {"annotator", s.annotator},
              {"source", s.source},
              {"wins", s.wins},
              {"mean_seconds", s.seconds_count ? json(s.seconds_total / s.seconds_count) : json(nullptr)},
              {"agreement",
               {{"pairs", g.pairs},
                {"couples", g.couples},
                {"same_preference", g.same_preference},
                {"same_rating", g.same_rating},
                {"rating_within_one", g.rating_within_one},
                {"same_safety", g.same_safety},
                {"preference_rate", rate(g.same_preference)},
                {"rating_within_one_rate", rate(g.rating_within_one)},
                {"safety_rate", rate(g.same_safety)}}},
              {"annotator_couples", couples}};
  return json_response(200, out);
}

}  // namespace wb::daemon::handlers
