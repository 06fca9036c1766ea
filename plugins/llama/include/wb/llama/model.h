// The Llama engine's model API.
//
// Design (ARCHITECTURE.md §6; llm.c style): no autograd. A Model<T> is plain data — config, base
// weights, an optional LoRA adapter and an optional scalar head — plus a Trainable set saying
// which of them get gradients. forward() (forward.h) runs a packed Batch through the model and
// leaves every activation backward needs in a Workspace (workspace.h); backward() (backward.h)
// walks the layers in reverse, by hand, and ADDS gradients into a Gradients<T> that is shaped
// like the trainable set only (frozen weights get no gradient buffers). parameters() pairs each
// trainable tensor with its gradient so an optimizer can step them generically.
//
// Multi-adapter batches (serving, RLHF reference/reward models on one base): forward accepts one
// adapter per sequence (or none); each linear runs one base GEMM over all rows, then each
// adapter's low-rank product over its sequences' rows (contiguous segments). Decoding with a KV
// cache uses the per-layer pieces in forward.h around kernels::attention_forward_seq.
//
// T is float (training, serving) or double (gradient checks in tests).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "wb/llama/config.h"
#include "wb/llama/lora.h"
#include "wb/llama/weights.h"

namespace wb::llama {

// Which parts receive gradients. Any combination (e.g. LoRA + head for a reward model).
struct Trainable {
  bool full = false;  // every base weight (pretrain, full SFT)
  bool lora = false;  // Model::lora's A and B
  bool head = false;  // Model::head
};

template <typename T>
struct Model {
  LlamaConfig config;
  Weights<T> weights;
  std::optional<LoraAdapter<T>> lora;  // applied to every sequence unless forward says otherwise
  std::optional<ScalarHead<T>> head;   // reward / value head
  Trainable trainable;

  // Random base model (Weights::random) with config.validate() checked.
  static Model random(const LlamaConfig& c, uint64_t seed);
  // Throws std::invalid_argument when weights/adapter/head shapes do not fit the config or the
  // trainable set names a part that is absent.
  void validate() const;
};

// Gradients for the trainable set of one Model, same names and shapes. Parts that are not
// trainable stay empty (no memory).
template <typename T>
struct Gradients {
  std::optional<Weights<T>> full;
  std::optional<LoraAdapter<T>> lora;
  std::optional<ScalarHead<T>> head;

  static Gradients for_model(const Model<T>& m);
  void zero();
};

// The weight-decay convention: every tensor decays but norms and biases (by name).
bool decays(const std::string& name);

// One trainable tensor: its value, its gradient (same numel), and whether weight decay applies
// by convention (decays(name)).
template <typename T>
struct Param {
  std::string name;  // HF / PEFT / "score.*" name
  T* value = nullptr;
  T* grad = nullptr;
  int64_t numel = 0;
  bool decay = true;
};

// Every trainable tensor of `m` paired with its gradient in `g` (built by Gradients::for_model(m)).
template <typename T>
std::vector<Param<T>> parameters(Model<T>& m, Gradients<T>& g);

// Options for one forward pass.
struct ForwardOptions {
  bool logits = true;        // compute logits [N, V]
  bool head = false;         // compute the scalar head per sequence (needs Model::head)
  bool for_backward = false; // keep what backward needs (attention log-sum-exp, etc.)
  bool recompute = false;    // with for_backward: keep only layer inputs; backward recomputes
                             // each layer (bit-identical gradients, less memory)
  bool train = false;        // LoRA dropout active (only for Model::lora, config.dropout > 0)
  uint64_t dropout_seed = 0; // the dropout mask is a pure function of (seed, layer, module, elem)
  // > 0: every base and LoRA product runs in BLAS calls of exactly this many rows (the last
  // call zero-padded), so a row's result never depends on how many other rows share the pass.
  // BLAS picks different kernels by shape (gemv for one row, small-matrix kernels for small
  // ones), which round differently; serving uses this for batch-invariant (seeded) outputs.
  int64_t row_tile = 0;
  // Every base and LoRA product through the engine's fixed-order row kernel instead of BLAS
  // (src/row_invariant_gemm.h): batch-invariant like row_tile, without padding, and streaming
  // each weight once however few rows there are. Takes precedence over row_tile.
  bool row_invariant = false;
  // Without row_tile / row_invariant: float products of 2..stream_rows rows (a decode batch) run
  // through that row kernel too, which streams each weight once where sgemm would repack it on
  // every call (several times faster at these sizes); more rows use sgemm, one row gemv.
  // 0: BLAS for every product. Not batch-invariant either way (the kernel depends on the rows).
  int64_t stream_rows = 32;
  // With packed weights (Weights::pack_fused), products that run as one sgemm (more rows than
  // stream_rows, no batch-invariant mode) run q/k/v as one GEMM over [Wq; Wk; Wv] and gate/up as
  // one over [Wgate; Wup]; LoRA products are added after. false: one GEMM per linear (the same
  // values per element; for side-by-side measurement).
  bool fuse_products = true;
};

// Rows [row_begin, row_end) use `adapter` (nullptr: base only).
template <typename T>
struct AdapterSegment {
  int64_t row_begin = 0;
  int64_t row_end = 0;
  const LoraAdapter<T>* adapter = nullptr;
  T scale = T(1);  // multiplies the adapter's own scale (per-request adapter_scale in serving)
};

}  // namespace wb::llama
