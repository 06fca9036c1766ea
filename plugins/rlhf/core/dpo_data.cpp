#include "wb/rlhf/dpo_data.h"

#include <algorithm>
#include <stdexcept>

#include "wb/llama/chat_template.h"
#include "wb/llama/rng.h"

namespace wb::rlhf {
using nlohmann::json;

PreferenceText parse_preference_text(const json& row, int64_t index) {
  auto field = [&](const char* name) {
    auto it = row.is_object() ? row.find(name) : row.end();
    if (!row.is_object() || it == row.end() || !it->is_string() || it->get<std::string>().empty())
      throw std::invalid_argument("row " + std::to_string(index) + ": field '" + name +
                                  "': expected a non-empty string");
    return it->get<std::string>();
  };
  return {field("prompt"), field("chosen"), field("rejected")};
}

namespace {

std::optional<AnswerSequence> render(const llama::Tokenizer& tok, const std::string& prompt, const std::string& answer,
                                     int64_t max_len) {
  const std::vector<llama::ChatMessage> msgs = {{"user", prompt}, {"assistant", answer}};
  llama::ChatTokens ct = llama::render_llama2_chat(tok, msgs);
  AnswerSequence s{std::move(ct.ids), std::move(ct.mask)};
  if (static_cast<int64_t>(s.tokens.size()) > max_len) {
    s.tokens.resize(static_cast<size_t>(max_len));
    s.answer.resize(static_cast<size_t>(max_len));
  }
  // Row 0 is never a target, so an answer needs a token at index >= 1.
  if (std::none_of(s.answer.begin() + 1, s.answer.end(), [](uint8_t a) { return a != 0; })) return std::nullopt;
  return s;
}

}  // namespace

std::optional<DpoExample> encode_dpo_pair(const llama::Tokenizer& tok, const PreferenceText& p, int64_t max_len,
                                          int64_t row) {
  if (max_len < 2) throw std::invalid_argument("dpo: max_len must be >= 2");
  auto c = render(tok, p.prompt, p.chosen, max_len);
  auto r = render(tok, p.prompt, p.rejected, max_len);
  if (!c || !r) return std::nullopt;
  return DpoExample{std::move(*c), std::move(*r), row};
}

DpoBatch pack_dpo_batch(const std::vector<const DpoExample*>& pairs) {
  if (pairs.empty()) throw std::invalid_argument("dpo: empty micro-batch");
  std::vector<std::vector<int32_t>> seqs;
  DpoBatch out;
  auto add = [&](const AnswerSequence& s) {
    seqs.push_back(s.tokens);
    for (size_t i = 0; i < s.tokens.size(); ++i) {
      const bool last = i + 1 == s.tokens.size();
      out.rows.targets.push_back(last ? -1 : s.tokens[i + 1]);
      out.rows.mask.push_back(!last && s.answer[i + 1] ? 1.0 : 0.0);
    }
  };
  for (const DpoExample* p : pairs) {
    add(p->chosen);
    add(p->rejected);
  }
  out.batch = llama::Batch::pack(seqs);
  return out;
}

std::vector<size_t> dpo_draws(size_t pool, int64_t n, uint64_t seed) {
  if (pool == 0) throw std::invalid_argument("dpo: no preference pairs to draw from");
  llama::Rng rng(seed);
  std::vector<size_t> order(pool), out;
  out.reserve(static_cast<size_t>(std::max<int64_t>(n, 0)));
  while (static_cast<int64_t>(out.size()) < n) {
    for (size_t i = 0; i < pool; ++i) order[i] = i;
    for (size_t i = pool; i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);
    for (size_t i = 0; i < pool && static_cast<int64_t>(out.size()) < n; ++i) out.push_back(order[i]);
  }
  return out;
}

}  // namespace wb::rlhf
