#include "train_data.h"

#include <algorithm>
#include <numeric>
#include <stdexcept>

#include "wb/llama/chat_template.h"
#include "wb/llama/rng.h"

namespace wb::sft {
using nlohmann::json;

std::vector<Example> text_examples(const llama::Tokenizer& tok, const std::vector<std::string>& texts,
                                   int64_t context_length) {
  std::vector<Example> out;
  for (const auto& text : texts) {
    if (text.empty()) continue;
    std::vector<int32_t> ids = tok.encode(text, /*bos=*/true, /*eos=*/true);
    // Pieces of context_length tokens; consecutive pieces share no token, so every token is a
    // target exactly once (the first token of a piece only serves as context).
    for (size_t begin = 0; begin + 1 < ids.size(); begin += static_cast<size_t>(context_length) - 1) {
      const size_t end = std::min(ids.size(), begin + static_cast<size_t>(context_length));
      Example e;
      e.tokens.assign(ids.begin() + static_cast<std::ptrdiff_t>(begin), ids.begin() + static_cast<std::ptrdiff_t>(end));
      e.weight.assign(e.tokens.size(), 1);
      e.weight[0] = 0;
      out.push_back(std::move(e));
      if (end == ids.size()) break;
    }
  }
  return out;
}

std::string row_text(const json& row, int64_t index) {
  auto it = row.find("text");  // a text dataset's document; a prompt dataset's row is read as text too
  if (it == row.end()) it = row.find("prompt");
  if (it == row.end() || !it->is_string())
    throw std::invalid_argument("row " + std::to_string(index) + ": field 'text': expected the text as a string");
  return it->get<std::string>();
}

namespace {

std::vector<llama::ChatMessage> row_messages(const json& row) {
  std::vector<llama::ChatMessage> msgs;
  if (row.contains("messages")) {
    const json& m = row.at("messages");
    if (!m.is_array()) throw std::invalid_argument("field 'messages': expected an array");
    for (const auto& x : m) {
      if (!x.is_object() || !x.contains("role") || !x.contains("content") || !x["role"].is_string() ||
          !x["content"].is_string())
        throw std::invalid_argument("field 'messages': each message needs string role and content");
      llama::ChatMessage msg{x["role"].get<std::string>(), x["content"].get<std::string>()};
      // "weight": 0 (storage allows it on assistant messages only): context, no loss.
      if (auto w = x.find("weight"); w != x.end()) {
        if (!w->is_number_integer() || (*w != 0 && *w != 1))
          throw std::invalid_argument("field 'messages[" + std::to_string(msgs.size()) + "].weight': expected 0 or 1");
        msg.train = *w == 1;
      }
      msgs.push_back(std::move(msg));
    }
  } else if (row.contains("prompt") && row.contains("completion")) {
    if (row.contains("system") && row["system"].is_string()) msgs.push_back({"system", row["system"].get<std::string>()});
    msgs.push_back({"user", row.at("prompt").get<std::string>()});
    msgs.push_back({"assistant", row.at("completion").get<std::string>()});
  } else {
    throw std::invalid_argument("expected {\"messages\":[...]} or {\"prompt\",\"completion\"}");
  }
  return msgs;
}

}  // namespace

std::vector<Example> sft_examples(const llama::Tokenizer& tok, const std::vector<json>& rows,
                                  const std::vector<int64_t>& indices, int64_t context_length, int64_t* truncated) {
  std::vector<Example> out;
  out.reserve(rows.size());
  for (size_t r = 0; r < rows.size(); ++r) {
    llama::ChatTokens ct;
    try {
      const auto msgs = row_messages(rows[r]);
      ct = llama::render_llama2_chat(tok, msgs);
    } catch (const std::exception& e) {
      throw std::invalid_argument("row " + std::to_string(r < indices.size() ? indices[r] : static_cast<int64_t>(r)) +
                                  ": " + e.what());
    }
    Example e;
    e.tokens = std::move(ct.ids);
    e.weight = std::move(ct.mask);
    if (static_cast<int64_t>(e.tokens.size()) > context_length) {
      e.tokens.resize(static_cast<size_t>(context_length));
      e.weight.resize(static_cast<size_t>(context_length));
      if (truncated) ++*truncated;
    }
    if (!e.weight.empty()) e.weight[0] = 0;  // the first token is never predicted
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<llama::TrainBatch> pack(const std::vector<Example>& examples, int64_t batch_size, int64_t context_length,
                                    uint64_t seed, bool shuffle) {
  std::vector<size_t> order(examples.size());
  std::iota(order.begin(), order.end(), size_t{0});
  if (shuffle) {
    llama::Rng rng(seed);
    for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.next_u64() % i]);
  }
  const int64_t max_tokens = batch_size * context_length;
  std::vector<llama::TrainBatch> out;
  llama::TrainBatch cur;
  cur.batch.cu_seqlens = {0};
  auto flush = [&] {
    if (cur.batch.tokens.empty()) return;
    cur.batch.fill_defaults();
    out.push_back(std::move(cur));
    cur = llama::TrainBatch{};
    cur.batch.cu_seqlens = {0};
  };
  for (size_t k : order) {
    const Example& e = examples[k];
    const int64_t n = static_cast<int64_t>(e.tokens.size());
    if (n < 2 || std::none_of(e.weight.begin() + 1, e.weight.end(), [](uint8_t w) { return w != 0; })) continue;
    if (cur.batch.n_tokens() + n > max_tokens) flush();
    for (int64_t i = 0; i < n; ++i) {
      cur.batch.tokens.push_back(e.tokens[static_cast<size_t>(i)]);
      const bool last = i + 1 == n;
      cur.targets.push_back(last ? -1 : e.tokens[static_cast<size_t>(i + 1)]);
      cur.mask.push_back(last ? 0.0f : static_cast<float>(e.weight[static_cast<size_t>(i + 1)]));
    }
    cur.batch.cu_seqlens.push_back(static_cast<int32_t>(cur.batch.n_tokens()));
  }
  flush();
  if (out.empty()) throw std::invalid_argument("no training example has a token to learn from");
  return out;
}

int64_t target_count(const llama::TrainBatch& b) {
  int64_t n = 0;
  for (float m : b.mask) n += m > 0 ? 1 : 0;
  return n;
}

}  // namespace wb::sft
