// Labeling queries on comparisons: the next prompt to label, and counts + inter-annotator
// agreement (comparisons.h).
#include <algorithm>
#include <cstdlib>
#include <iterator>
#include <map>
#include <unordered_set>
#include <utility>

#include "dataset_tables.h"
#include "wb/storage/comparisons.h"
#include "wb/storage/connection.h"
#include "wb/storage/error.h"

namespace wb::storage {

namespace {

// One stored label as the agreement computation sees it.
struct Label {
  std::string annotator;
  std::string preferred;  // the text of the chosen response (sides are shuffled per labeler)
  int rating = 0;
  std::string safety;
};

// Pair key: prompt + the two responses in a fixed order, so (a, b) and (b, a) are one pair.
// Lengths are part of the key so that no two different triples can concatenate alike.
std::string pair_key(const std::string& prompt, const std::string& x, const std::string& y) {
  const std::string& lo = std::min(x, y);
  const std::string& hi = std::max(x, y);
  return std::to_string(prompt.size()) + ':' + prompt + std::to_string(lo.size()) + ':' + lo + hi;
}

void add_agreement(const std::vector<Label>& labels, LabelAgreement& out) {
  bool judged_twice = false;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    for (std::size_t j = i + 1; j < labels.size(); ++j) {
      const Label& p = labels[i];
      const Label& q = labels[j];
      if (p.annotator == q.annotator) continue;  // one person's two labels are not agreement
      judged_twice = true;
      ++out.couples;
      if (p.safety == q.safety) ++out.same_safety;
      if (p.preferred != q.preferred) continue;
      ++out.same_preference;
      if (p.rating == q.rating) ++out.same_rating;
      if (std::abs(p.rating - q.rating) <= 1) ++out.rating_within_one;
    }
  }
  if (judged_twice) ++out.pairs;
}

// Cohen's kappa for every two annotators over the pairs both labeled (comparisons.h).
// `pairs`: for each pair, each annotator's latest label as "prefers the first response".
std::vector<AnnotatorCouple> annotator_couples(const std::vector<std::map<std::string, bool>>& pairs) {
  struct Tally {
    std::int64_t n = 0, same = 0, first_x = 0, first_y = 0;
  };
  std::map<std::pair<std::string, std::string>, Tally> tallies;
  for (const auto& labels : pairs)
    for (auto x = labels.begin(); x != labels.end(); ++x)
      for (auto y = std::next(x); y != labels.end(); ++y) {
        Tally& t = tallies[{x->first, y->first}];
        ++t.n;
        if (x->second == y->second) ++t.same;
        if (x->second) ++t.first_x;
        if (y->second) ++t.first_y;
      }
  std::vector<AnnotatorCouple> out;
  for (const auto& [names, t] : tallies) {
    AnnotatorCouple c{names.first, names.second, t.n, t.same, std::nullopt};
    const double n = static_cast<double>(t.n);
    const double po = t.same / n, px = t.first_x / n, py = t.first_y / n;
    const double pe = px * py + (1 - px) * (1 - py);
    if (pe < 1) c.kappa = (po - pe) / (1 - pe);
    out.push_back(c);
  }
  return out;
}

}  // namespace

std::optional<PromptToLabel> ComparisonRepository::next_unlabeled(std::string_view prompts, std::string_view into,
                                                                  std::int64_t after,
                                                                  std::optional<std::string_view> annotator) {
  auto lock = conn_.lock();
  Database& db = conn_.db();
  auto source = detail::require_dataset(db, prompts);
  if (source.record.kind != DatasetKind::Prompt)
    throw Invalid("field 'prompts': dataset '" + std::string(prompts) + "' is of kind " +
                  std::string(to_string(source.record.kind)) + ", labeling needs a prompt dataset");
  // The prompts already labeled into `into` (by anyone, or by `annotator`).
  std::unordered_set<std::string> labeled;
  if (auto target = detail::find_dataset(db, into)) {
    if (target->record.kind != DatasetKind::Preference)
      throw Invalid("field 'into': dataset '" + std::string(into) + "' is of kind " +
                    std::string(to_string(target->record.kind)) + ", labels go to a preference dataset");
    auto st = db.prepare("SELECT DISTINCT prompt FROM comparisons WHERE dataset_id = ?1 AND (?2 IS NULL OR annotator = ?2)");
    st.bind(1, target->id);
    if (annotator) st.bind(2, *annotator); else st.bind(2, nullptr);
    while (st.step()) labeled.insert(st.column_text(0));
  }
  auto st = db.prepare("SELECT row_index, row FROM examples WHERE dataset_id = ?1 AND row_index > ?2 ORDER BY row_index");
  st.bind(1, source.id).bind(2, after);
  std::optional<PromptToLabel> next;
  std::int64_t remaining = 0;
  while (st.step()) {
    // Rows were validated on import (dataset_format.h): an object with a string "prompt".
    const nlohmann::json row = nlohmann::json::parse(st.column_text(1));
    const std::string& prompt = row.at("prompt").get_ref<const std::string&>();
    if (labeled.count(prompt)) continue;
    ++remaining;
    if (next) continue;
    next.emplace();
    next->index = st.column_int64(0);
    next->prompt = prompt;
    if (row.contains("system")) next->system = row["system"].get<std::string>();
    next->is_safety_prompt = row.value("is_safety_prompt", false);
  }
  if (next) next->remaining = remaining;
  return next;
}

LabelStats ComparisonRepository::stats(std::optional<std::string_view> dataset) {
  auto lock = conn_.lock();
  Database& db = conn_.db();
  std::optional<std::int64_t> dataset_id;
  if (dataset) dataset_id = detail::require_dataset(db, *dataset).id;
  auto st = db.prepare(
      "SELECT dataset_id, prompt, response_a, response_b, chosen, rating, safety, is_safety_prompt, annotator, "
      "source, model_a, model_b, seconds FROM comparisons WHERE (?1 IS NULL OR dataset_id = ?1) "
      "AND dataset_id IN (SELECT id FROM datasets WHERE state = 'ready') ORDER BY id");
  st.bind(1, dataset_id);
  LabelStats s;
  // Agreement is per dataset: the same pair in two datasets is two pairs.
  std::map<std::pair<std::int64_t, std::string>, std::vector<Label>> pairs;
  // Per pair, each annotator's latest label: does it prefer the first of the two responses?
  std::map<std::pair<std::int64_t, std::string>, std::map<std::string, bool>> latest;
  while (st.step()) {
    ++s.total;
    const std::string prompt = st.column_text(1), a = st.column_text(2), b = st.column_text(3);
    const std::string chosen = st.column_text(4);
    const int rating = static_cast<int>(st.column_int64(5));
    const std::string safety = st.column_text(6);
    const std::string annotator = st.column_text(8);
    ++s.chosen[chosen];
    ++s.rating[rating];
    ++s.safety[safety];
    ++s.annotator[annotator];
    ++s.source[st.column_text(9)];
    if (st.column_int64(7) != 0) ++s.safety_prompts;
    if (auto winner = st.column_optional_text(chosen == "b" ? 11 : 10)) ++s.wins[*winner];
    if (auto secs = st.column_optional_double(12)) {
      s.seconds_total += *secs;
      ++s.seconds_count;
    }
    const std::pair<std::int64_t, std::string> key{st.column_int64(0), pair_key(prompt, a, b)};
    const std::string& preferred = chosen == "b" ? b : a;
    pairs[key].push_back({annotator, preferred, rating, safety});
    latest[key][annotator] = preferred == std::min(a, b);
  }
  for (const auto& [key, labels] : pairs) add_agreement(labels, s.agreement);
  std::vector<std::map<std::string, bool>> shared;
  for (auto& [key, labels] : latest)
    if (labels.size() > 1) shared.push_back(std::move(labels));
  s.annotator_couples = annotator_couples(shared);
  return s;
}

}  // namespace wb::storage
