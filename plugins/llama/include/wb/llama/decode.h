// Decoder<T>: batched incremental inference over per-sequence KV caches — the engine of serving,
// sampling for RLHF, and `wb-engine generate`.
//
//   Decoder<float> dec(model);
//   DecodeSequence<float> a(model.config), b(model.config);  b.adapter = &my_lora;
//   dec.prefill(a, prompt_a, logits_a);                      // chunked; logits of the last token
//   dec.prefill(b, prompt_b, logits_b);
//   dec.step({&a, &b}, {tok_a, tok_b}, logits);              // one new token each: logits [2, V]
//
// A step runs the new rows of every sequence through each base GEMM together; each sequence's
// adapter (nullptr = base model only) adds its low-rank product on its own rows (the engine's
// multi-adapter forward), and attention reads each sequence's own cache. The logits equal the full
// forward's over the whole sequence (up to float rounding: the GEMM shapes differ).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "wb/llama/kv_cache.h"
#include "wb/llama/model.h"
#include "wb/llama/workspace.h"

namespace wb::llama {

template <typename T>
struct DecodeSequence {
  KvCache<T> cache;
  const LoraAdapter<T>* adapter = nullptr;  // must outlive its use in steps
  T adapter_scale = T(1);                    // multiplies the adapter's alpha/r (serving's adapter_scale)

  // max_tokens 0: the model's context length.
  explicit DecodeSequence(const LlamaConfig& c, int64_t max_tokens = 0) : cache(c, max_tokens) {}
  int64_t length() const { return cache.length(); }
};

template <typename T>
class Decoder {
 public:
  // The model must outlive the decoder and not change while it runs. The model's own
  // Model::lora is NOT applied implicitly: each sequence names its adapter.
  explicit Decoder(const Model<T>& model);

  // Appends tokens[i] (one or more ids) to seqs[i] and runs them in one batched pass.
  // all_positions = false: logits [S, V] for the last new token of each sequence;
  // true: logits [sum of new tokens, V], sequence after sequence.
  // Throws std::invalid_argument (size mismatch, empty token list, id outside the vocabulary,
  // an adapter that does not fit) or std::length_error (context full); caches are unchanged then.
  void forward(std::span<DecodeSequence<T>* const> seqs,
               const std::vector<std::vector<int32_t>>& tokens, std::vector<T>& logits,
               bool all_positions = false);

  // One token per sequence (the decode step): logits [S, V].
  void step(std::span<DecodeSequence<T>* const> seqs, const std::vector<int32_t>& tokens,
            std::vector<T>& logits);

  // Feeds a prompt in chunks of at most `chunk` tokens (bounding the attention scratch);
  // last_logits gets the [V] logits after the final token.
  void prefill(DecodeSequence<T>& seq, const std::vector<int32_t>& tokens, std::vector<T>& last_logits,
               int64_t chunk = 256);

  const Model<T>& model() const { return model_; }

  // > 0: batch-invariant mode (ForwardOptions::row_tile): every product, the LM head included,
  // runs in BLAS calls of exactly `rows` rows, so each sequence's logits are bit-identical
  // whatever else shares the step. Costs padding (a one-row step computes `rows` rows).
  void set_row_tile(int64_t rows) { row_tile_ = rows < 0 ? 0 : rows; }
  int64_t row_tile() const { return row_tile_; }
  // true: batch-invariant mode through the engine's fixed-order row kernel
  // (ForwardOptions::row_invariant; no padding, weights streamed once). Takes precedence.
  void set_row_invariant(bool on) { row_invariant_ = on; }
  bool row_invariant() const { return row_invariant_; }
  // Outside batch-invariant mode: the largest step (rows) whose products, the LM head included,
  // run through the row kernel instead of BLAS (ForwardOptions::stream_rows; 0: BLAS always).
  void set_stream_rows(int64_t rows) { stream_rows_ = rows < 0 ? 0 : rows; }
  int64_t stream_rows() const { return stream_rows_; }
  // With packed weights (Weights::pack_fused): q/k/v and gate/up products of a chunk that runs
  // through sgemm as one GEMM each (ForwardOptions::fuse_products; default on).
  void set_fuse_products(bool on) { fuse_products_ = on; }
  bool fuse_products() const { return fuse_products_; }

 private:
  const Model<T>& model_;
  LayerActs<T> acts_;
  std::vector<T> x_, rows_, hidden_, scratch_;
  std::vector<int32_t> ids_, positions_;
  int64_t row_tile_ = 0;
  bool row_invariant_ = false;
  int64_t stream_rows_ = ForwardOptions{}.stream_rows;
  bool fuse_products_ = ForwardOptions{}.fuse_products;
};

}  // namespace wb::llama
