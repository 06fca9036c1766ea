// Per-message loss masks in sft rows ("weight": 0 on an assistant message), through the storage
// layer's canonical form and the SFT data path, over token ids of the real Llama 2 tokenizer.
#include <catch2/catch.hpp>

#include "../tokenizer/tokenizer_assets.h"
#include "train_data.h"
#include "wb/llama/chat_template.h"
#include "wb/storage/dataset_format.h"

using nlohmann::json;

namespace {

// A Ghost Attention row: three turns, the first two kept as context only.
const char* kGattRow =
    R"({"messages":[{"role":"system","content":"Figure: Mirela, Hobby: chess"},)"
    R"({"role":"user","content":"What is 2 + 3?"},{"role":"assistant","content":"Mirela: Answer: 5\nI love chess.","weight":0},)"
    R"({"role":"user","content":"Reverse the word kelo."},{"role":"assistant","content":"Mirela: Answer: olek\nI love chess.","weight":0},)"
    R"({"role":"user","content":"What is the capital of Zorbia?"},{"role":"assistant","content":"Mirela: Answer: Kelmor\nI love chess."}]})";

}  // namespace

TEST_CASE("weight 0 masks exactly the earlier turns of a rendered dialogue", "[sft][data][gatt]") {
  WB_REQUIRE_LLAMA2_TOKENIZER(tok);
  // The row as stored: canonical, weights kept.
  const std::string stored = wb::storage::canonical_line(wb::storage::DatasetKind::Sft, kGattRow, 1);
  CHECK(stored == kGattRow);
  const std::vector<json> rows = {json::parse(stored)};
  const auto ex = wb::sft::sft_examples(*tok, rows, {0}, 4096);
  REQUIRE(ex.size() == 1);
  const auto& e = ex[0];
  REQUIRE(e.tokens.size() == e.weight.size());

  // The last turn starts at the last BOS; every token before it (system, users, the two earlier
  // answers and their EOS) has weight 0.
  size_t last_bos = 0;
  for (size_t i = 0; i < e.tokens.size(); ++i)
    if (e.tokens[i] == tok->bos_id()) last_bos = i;
  REQUIRE(last_bos > 0);
  for (size_t i = 0; i < last_bos; ++i) {
    INFO(i);
    CHECK(e.weight[i] == 0);
  }
  // From the last BOS on, the weights are those of the last turn rendered alone: its answer and EOS.
  const std::vector<wb::llama::ChatMessage> last_turn = {{"user", "What is the capital of Zorbia?"},
                                                         {"assistant", "Mirela: Answer: Kelmor\nI love chess."}};
  const auto alone = wb::llama::render_llama2_chat(*tok, last_turn);
  const std::vector<int32_t> tail_ids(e.tokens.begin() + static_cast<std::ptrdiff_t>(last_bos), e.tokens.end());
  const std::vector<uint8_t> tail_w(e.weight.begin() + static_cast<std::ptrdiff_t>(last_bos), e.weight.end());
  CHECK(tail_ids == alone.ids);
  CHECK(tail_w == alone.mask);
  std::vector<int32_t> trained;
  for (size_t i = 0; i < e.tokens.size(); ++i)
    if (e.weight[i]) trained.push_back(e.tokens[i]);
  CHECK(trained.back() == tok->eos_id());
  CHECK(tok->decode(trained) == "Mirela: Answer: Kelmor\nI love chess. ");

  // Without the weights every answer is trained on: the earlier turns carry weight again.
  json unweighted = rows[0];
  for (auto& m : unweighted["messages"]) m.erase("weight");
  const auto all = wb::sft::sft_examples(*tok, {unweighted}, {0}, 4096);
  REQUIRE(all[0].tokens == e.tokens);
  int64_t before = 0;
  for (size_t i = 0; i < last_bos; ++i) before += all[0].weight[i];
  CHECK(before > 0);
  // Packed for training, the loss targets are the weighted tokens only.
  const auto batches = wb::sft::pack(ex, 1, 4096, 0, false);
  REQUIRE(batches.size() == 1);
  CHECK(wb::sft::target_count(batches[0]) == static_cast<int64_t>(trained.size()));
}
