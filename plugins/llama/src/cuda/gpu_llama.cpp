#include "wb/llama/cuda/gpu_llama.h"

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <numeric>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <unordered_map>

#include "wb/kernels/adamw.h"
#include "wb/kernels/attention.h"
#include "wb/cuda/check.h"
#include "wb/cuda/decode.h"
#include "wb/cuda/elementwise.h"
#include "wb/kernels/add.h"
#include "wb/kernels/embedding.h"
#include "wb/kernels/gemm.h"
#include "wb/cuda/gemv.h"
#include "wb/kernels/lora.h"
#include "wb/cuda/ranking.h"
#include "wb/kernels/rmsnorm.h"
#include "wb/kernels/rope.h"
#include "wb/kernels/scalar_head.h"
#include "wb/cuda/sampling.h"
#include "wb/kernels/swiglu.h"
#include "wb/kernels/xent.h"
#include "wb/llama/cuda/gpu_adapter.h"
#include "wb/llama/cuda/gpu_decoder.h"
#include "wb/llama/rng.h"
#include "wb/llama/sampler.h"

namespace wb::gpu {

using namespace wb::cuda;
using namespace wb::kernels;
enum { kQ, kK, kV, kO, kGate, kUp, kDown };

template <typename T>
std::pair<int64_t, int64_t> GpuLlama<T>::shape(int m) const {
  const int64_t D = c_.hidden_size, F = c_.intermediate_size, KV = c_.kv_dim();
  switch (m) {
    case kQ: return {D, D};
    case kK:
    case kV: return {D, KV};
    case kO: return {D, D};
    case kGate:
    case kUp: return {D, F};
    default: return {F, D};
  }
}

template <typename T>
void GpuLlama<T>::alloc_weights() {
  c_.validate();
  const int64_t D = c_.hidden_size, V = c_.vocab_size, F = c_.intermediate_size;
  const int64_t KV = c_.kv_dim();
  embed_ = DeviceBuffer<T>(V * D);
  norm_ = DeviceBuffer<T>(D);
  if (!c_.tie_word_embeddings) lm_head_ = DeviceBuffer<T>(V * D);
  layers_.clear();
  for (int64_t l = 0; l < c_.num_hidden_layers; ++l) {
    Layer L;
    L.ln1 = DeviceBuffer<T>(D);
    L.ln2 = DeviceBuffer<T>(D);
    L.wqkv = DeviceBuffer<T>((D + 2 * KV) * D);
    L.wo = DeviceBuffer<T>(D * D);
    L.wgu = DeviceBuffer<T>(2 * F * D);
    L.wdown = DeviceBuffer<T>(D * F);
    L.w = {L.wqkv.data(), L.wqkv.data() + D * D, L.wqkv.data() + (D + KV) * D, L.wo.data(),
           L.wgu.data(), L.wgu.data() + F * D, L.wdown.data()};
    layers_.push_back(std::move(L));
  }
}

template <typename T>
GpuLlama<T>::GpuLlama(Context& ctx, const llama::LlamaConfig& c, uint64_t seed) : ctx_(ctx), c_(c) {
  alloc_weights();
  uint64_t s = seed;
  fill_normal(ctx_, embed_.data(), embed_.size(), 0.02f, ++s);
  fill(ctx_, norm_.data(), 1.0f, norm_.size());
  if (lm_head_.size()) fill_normal(ctx_, lm_head_.data(), lm_head_.size(), 0.02f, ++s);
  for (auto& L : layers_) {
    fill(ctx_, L.ln1.data(), 1.0f, L.ln1.size());
    fill(ctx_, L.ln2.data(), 1.0f, L.ln2.size());
    for (auto* w : {&L.wqkv, &L.wo, &L.wgu, &L.wdown})
      fill_normal(ctx_, w->data(), w->size(), 0.02f, ++s);
  }
  ctx_.synchronize();
}

namespace {
template <typename T>
void upload_tensor(T* dst, size_t size, const llama::Tensor<float>& t) {
  if (size_t(t.numel()) != size)
    throw std::invalid_argument("GpuLlama: tensor of shape " + t.shape_string() +
                                " does not fit the config");
  const auto v = from_float<T>(t.data);
  upload(dst, v.data(), v.size());
}
template <typename T>
void upload_tensor(Context&, DeviceBuffer<T>& dst, const llama::Tensor<float>& t) {
  upload_tensor(dst.data(), dst.size(), t);
}
}  // namespace

template <typename T>
GpuLlama<T>::GpuLlama(Context& ctx, const llama::Model<float>& m) : ctx_(ctx), c_(m.config) {
  alloc_weights();
  const auto& w = m.weights;
  upload_tensor(ctx_, embed_, w.embed_tokens);
  upload_tensor(ctx_, norm_, w.norm);
  if (lm_head_.size()) upload_tensor(ctx_, lm_head_, w.lm_head);
  for (int64_t l = 0; l < c_.num_hidden_layers; ++l) {
    const auto& src = w.layers[l];
    auto& L = layers_[l];
    upload_tensor(ctx_, L.ln1, src.input_layernorm);
    upload_tensor(ctx_, L.ln2, src.post_attention_layernorm);
    const llama::Tensor<float>* ws[7] = {&src.q_proj,    &src.k_proj,  &src.v_proj,   &src.o_proj,
                                         &src.gate_proj, &src.up_proj, &src.down_proj};
    for (int mm = 0; mm < 7; ++mm) {
      auto [in, out] = shape(mm);
      upload_tensor(L.w[mm], size_t(in * out), *ws[mm]);
    }
  }
}

template <typename T>
void GpuLlama<T>::init_lora(const LoraSpec& spec, uint64_t seed, float b_std) {
  lora_ = spec;
  has_lora_ = true;
  cap_ = 0;  // activations must be reallocated with the LoRA scratch (next set_batch)
  n_ = 0;
  lora_pairs_.clear();
  lora_pairs_.resize(size_t(c_.num_hidden_layers));
  uint64_t s = seed;
  for (auto& layer : lora_pairs_) {
    for (int m = 0; m < 7; ++m) {
      if (!spec.targets[m]) continue;
      auto [in, out] = shape(m);
      LoraPair& p = layer[m];
      p.on = true;
      p.A32 = DeviceBuffer<float>(spec.rank * in);
      p.B32 = DeviceBuffer<float>(out * spec.rank);
      // PEFT: A kaiming-uniform-like scale 1/sqrt(in) (normal here), B zero.
      fill_normal(ctx_, p.A32.data(), p.A32.size(), 1.0f / std::sqrt(float(in)), ++s);
      if (b_std > 0) fill_normal(ctx_, p.B32.data(), p.B32.size(), b_std, ++s);
      else fill(ctx_, p.B32.data(), 0.0f, p.B32.size());
    }
  }
  // Shadows, gradients and moments.
  for (auto& layer : lora_pairs_)
    for (int m = 0; m < 7; ++m) {
      LoraPair& p = layer[m];
      if (!p.on) continue;
      p.A = DeviceBuffer<T>(p.A32.size());
      p.B = DeviceBuffer<T>(p.B32.size());
      convert(ctx_, p.A.data(), p.A32.data(), p.A32.size());
      convert(ctx_, p.B.data(), p.B32.data(), p.B32.size());
      for (auto* b : {&p.dA, &p.mA, &p.vA}) {
        *b = DeviceBuffer<float>(p.A32.size());
        fill(ctx_, b->data(), 0.0f, b->size());
      }
      for (auto* b : {&p.dB, &p.mB, &p.vB}) {
        *b = DeviceBuffer<float>(p.B32.size());
        fill(ctx_, b->data(), 0.0f, b->size());
      }
    }
  // The trainable set becomes the adapter alone (set_trainable may widen it afterwards).
  train_full_ = false;
  train_lora_ = true;
  train_head_ = false;
  full_.clear();
  embed32_ = Master{};
  norm32_ = Master{};
  lm_head32_ = Master{};
  params_.clear();
  add_lora_params();
  ctx_.synchronize();
}

template <typename T>
void GpuLlama<T>::set_lora(const llama::LoraAdapter<float>& a) {
  a.check_shapes(c_);  // before anything changes: the copies below read a's tensors by our shapes
  LoraSpec spec;
  spec.rank = a.config.r;
  spec.scale = float(a.config.scale());
  for (int m = 0; m < 7; ++m) spec.targets[m] = a.config.targets(llama::LoraModule(m));
  init_lora(spec, 0);
  for (int64_t l = 0; l < c_.num_hidden_layers; ++l)
    for (int m = 0; m < 7; ++m) {
      const auto* src = a.pair(l, llama::LoraModule(m));
      LoraPair& p = lora_pairs_[l][m];
      if (!src || !p.on) continue;
      upload(p.A32.data(), src->A.data.data(), p.A32.size());
      upload(p.B32.data(), src->B.data.data(), p.B32.size());
      convert(ctx_, p.A.data(), p.A32.data(), p.A32.size());
      convert(ctx_, p.B.data(), p.B32.data(), p.B32.size());
    }
  ctx_.synchronize();
}

template <typename T>
void GpuLlama<T>::set_frozen_lora(const llama::LoraAdapter<float>& a) {
  a.check_shapes(c_);  // before anything changes
  LoraSpec spec;
  spec.rank = a.config.r;
  spec.scale = float(a.config.scale());
  for (int m = 0; m < 7; ++m) spec.targets[m] = a.config.targets(llama::LoraModule(m));
  ctx_.synchronize();
  has_frozen_ = false;
  frozen_pairs_.clear();
  frozen_pairs_.resize(size_t(c_.num_hidden_layers));
  for (int64_t l = 0; l < c_.num_hidden_layers; ++l)
    for (int m = 0; m < 7; ++m) {
      const auto* src = a.pair(l, llama::LoraModule(m));
      if (!src || !spec.targets[m]) continue;
      FrozenPair& p = frozen_pairs_[size_t(l)][size_t(m)];
      const auto a16 = from_float<T>(src->A.data);
      const auto b16 = from_float<T>(src->B.data);
      p.A = DeviceBuffer<T>(a16.size());
      p.B = DeviceBuffer<T>(b16.size());
      upload(p.A.data(), a16.data(), a16.size());
      upload(p.B.data(), b16.data(), b16.size());
      p.on = true;
    }
  frozen_ = spec;
  has_frozen_ = true;
  if (frozen_.rank > (has_lora_ ? lora_.rank : 0)) {
    cap_ = 0;  // the LoRA scratch must hold the frozen adapter's rank (next set_batch)
    n_ = 0;
  }
}

template <typename T>
void GpuLlama<T>::swap_slot(SlotState& s) {
  std::swap(lora_, s.lora);
  std::swap(has_lora_, s.has_lora);
  std::swap(lora_pairs_, s.pairs);
  std::swap(train_lora_, s.train_lora);
  std::swap(train_head_, s.train_head);
  std::swap(params_, s.params);
  std::swap(head_w32_, s.head_w32);
  std::swap(head_b32_, s.head_b32);
  std::swap(head_dw_, s.head_dw);
  std::swap(head_db_, s.head_db);
  std::swap(head_mw_, s.head_mw);
  std::swap(head_vw_, s.head_vw);
  std::swap(head_mb_, s.head_mb);
  std::swap(head_vb_, s.head_vb);
  std::swap(head_w_, s.head_w);
}

template <typename T>
void GpuLlama<T>::select_slot(int k) {
  if (k < 0 || k >= kSlots)
    throw std::out_of_range("GpuLlama::select_slot: slot " + std::to_string(k) + " (there are " +
                            std::to_string(kSlots) + ")");
  if (k == slot_) return;
  if (train_full_)
    throw std::logic_error("GpuLlama::select_slot: full training has one set of masters, not one per slot");
  // Only buffer ownership moves: device pointers (params_, queued kernels) stay valid.
  swap_slot(parked_);
  slot_ = k;
}

template <typename T>
void GpuLlama<T>::use_adapter(AdapterUse u) {
  if (u == AdapterUse::kFrozen && !has_frozen_)
    throw std::logic_error("GpuLlama::use_adapter: no frozen adapter (set_frozen_lora)");
  use_ = u;
}

template <typename T>
void GpuLlama<T>::stage_targets(const std::vector<int32_t>& targets, const std::vector<float>* coef) {
  const int64_t n = n_, V = c_.vocab_size;
  wait_fence(targets_fence_);
  if (stage_targets_.size() < size_t(n)) {
    stage_targets_ = PinnedBuffer<int32_t>(size_t(cap_));
    stage_dloss_ = PinnedBuffer<float>(size_t(cap_));
  }
  for (int64_t i = 0; i < n; ++i) {
    if (targets[size_t(i)] >= V)
      throw std::invalid_argument("log-probs: target " + std::to_string(targets[size_t(i)]) +
                                  " at row " + std::to_string(i) + " is outside the vocabulary");
    stage_targets_.data()[i] = targets[size_t(i)] < 0 ? -1 : targets[size_t(i)];
    if (coef) stage_dloss_.data()[i] = (*coef)[size_t(i)];
  }
  upload(targets_.data(), stage_targets_.data(), n, ctx_.s());
  if (coef) upload(dloss_.data(), stage_dloss_.data(), n, ctx_.s());
  WB_CUDA_CHECK(cudaEventRecord(targets_fence_.get(), ctx_.s()));
}

template <typename T>
std::vector<float> GpuLlama<T>::token_logprobs(const std::vector<int32_t>& targets, float inv_temp) {
  const int64_t n = n_;
  if (n == 0 || logits_rows_ != n)
    throw std::logic_error("GpuLlama: token log-probs need forward() (with the LM head) on this batch");
  if (int64_t(targets.size()) != n)
    throw std::invalid_argument("log-probs: " + std::to_string(targets.size()) + " targets for " +
                                std::to_string(n) + " rows");
  stage_targets(targets, nullptr);
  kernels::token_logprob_forward<T>(losses_.data(), logits_.data(), targets_.data(), n,
                                    c_.vocab_size, inv_temp, ctx_);
  ctx_.synchronize();
  return to_host(losses_.data(), size_t(n));
}

template <typename T>
std::vector<float> GpuLlama<T>::token_entropies(const std::vector<int32_t>& targets, float inv_temp) {
  const int64_t n = n_;
  if (n == 0 || logits_rows_ != n)
    throw std::logic_error("GpuLlama: token entropies need forward() (with the LM head) on this batch");
  if (int64_t(targets.size()) != n)
    throw std::invalid_argument("entropies: " + std::to_string(targets.size()) + " targets for " +
                                std::to_string(n) + " rows");
  stage_targets(targets, nullptr);
  kernels::token_entropy_forward<T>(losses_.data(), logits_.data(), targets_.data(), n, c_.vocab_size,
                                    inv_temp, ctx_);
  ctx_.synchronize();
  return to_host(losses_.data(), size_t(n));
}

template <typename T>
void GpuLlama<T>::token_logprob_backward(const std::vector<int32_t>& targets,
                                         const std::vector<float>& coef, float inv_temp) {
  const int64_t n = n_, D = c_.hidden_size, V = c_.vocab_size;
  if (n == 0 || logits_rows_ != n)
    throw std::logic_error("GpuLlama: the log-prob backward needs forward() (with the LM head) on this batch");
  if (!forward_trained())
    throw std::logic_error("backward: the forward ran without the trained adapter (use_adapter)");
  if (params_.empty())
    throw std::logic_error("backward: nothing trainable (set_lora, init_lora or set_trainable)");
  if (int64_t(targets.size()) != n || int64_t(coef.size()) != n)
    throw std::invalid_argument("log-prob backward: " + std::to_string(targets.size()) +
                                " targets and " + std::to_string(coef.size()) +
                                " coefficients for " + std::to_string(n) + " rows");
  stage_targets(targets, &coef);
  prof_.mark("head_xent", ctx_.s());
  // The gradient on the logits replaces them (one [rows, vocab] buffer, as the token loss does).
  kernels::token_logprob_backward<T>(logits_.data(), logits_.data(), targets_.data(), dloss_.data(),
                                     n, V, inv_temp, ctx_);
  logits_rows_ = 0;  // the logits are gone
  const T* head = lm_head_.size() ? lm_head_.data() : embed_.data();
  if (train_full_) {
    float* dhead = lm_head_.size() ? lm_head32_.g.data() : embed32_.g.data();
    gemm_f32out<T>(true, false, V, D, n, 1.0f, logits_.data(), V, xf_.data(), D, 1.0f, dhead, D, ctx_);
  }
  if (!decoder_trains()) return;
  T* dxf = dbuf_a_.data();
  linear_backward<T>(dxf, nullptr, logits_.data(), xf_.data(), head, n, D, V,
                     /*accumulate=*/false, ctx_);
  backward_decoder(dxf);
}

template <typename T>
void GpuLlama<T>::alloc_acts(int64_t n) {
  if (n <= cap_) return;
  // cap_ says every buffer below holds n rows only once they all do: an allocation that throws
  // (out of device memory) leaves cap_ 0, so the next set_batch allocates again instead of
  // trusting buffers of the old size (or a layer list cut short).
  cap_ = 0;
  const int64_t D = c_.hidden_size, F = c_.intermediate_size, KV = c_.kv_dim();
  const int64_t H = c_.num_attention_heads;
  // The LoRA scratch holds x A^T for whichever adapter runs (trained or frozen).
  const int64_t r = std::max({has_lora_ ? lora_.rank : int64_t(0), parked_.has_lora ? parked_.lora.rank : int64_t(0),
                              has_frozen_ ? frozen_.rank : int64_t(0)});
  acts_.clear();
  for (int64_t l = 0; l < c_.num_hidden_layers; ++l) {
    Acts a;
    for (auto* b : {&a.x, &a.xn1, &a.q, &a.att, &a.xmid, &a.xn2}) *b = DeviceBuffer<T>(n * D);
    a.k = DeviceBuffer<T>(n * KV);
    a.v = DeviceBuffer<T>(n * KV);
    for (auto* b : {&a.g, &a.u, &a.h}) *b = DeviceBuffer<T>(n * F);
    a.rstd1 = DeviceBuffer<float>(n);
    a.rstd2 = DeviceBuffer<float>(n);
    a.lse = DeviceBuffer<float>(H * n);
    if (r > 0)
      for (auto& t : a.t) t = DeviceBuffer<T>(n * r);
    acts_.push_back(std::move(a));
  }
  xf_ = DeviceBuffer<T>(n * D);
  dx_ = DeviceBuffer<T>(n * D);
  dres_ = DeviceBuffer<T>(n * D);
  dbuf_a_ = DeviceBuffer<T>(n * F);
  dbuf_b_ = DeviceBuffer<T>(n * F);
  dbuf_c_ = DeviceBuffer<T>(n * F);
  dq_ = DeviceBuffer<T>(n * D);
  dk_ = DeviceBuffer<T>(n * KV);
  dv_ = DeviceBuffer<T>(n * KV);
  dt_ = DeviceBuffer<T>(n * (r > 0 ? r : 1));
  // logits_ is allocated by forward() only: scoring and reward training (forward_hidden) never
  // need rows x vocab of them.
  rstdf_ = DeviceBuffer<float>(n);
  losses_ = DeviceBuffer<float>(n);
  dloss_ = DeviceBuffer<float>(n);
  attn_ws_ = DeviceBuffer<float>(attention_rows_workspace({n, H, c_.num_key_value_heads,
                                                          c_.head_dim()}));
  tokens_ = DeviceBuffer<int32_t>(n);
  seq_start_ = DeviceBuffer<int32_t>(n);
  positions_ = DeviceBuffer<int32_t>(n);
  rope_cs_ = DeviceBuffer<float>(n * c_.head_dim());
  targets_ = DeviceBuffer<int32_t>(n);
  // The head reads at most one row per sequence (<= n sequences).
  head_rows_ = DeviceBuffer<int32_t>(n);
  margins_ = DeviceBuffer<float>(n);
  scores_ = DeviceBuffer<float>(n);
  dscores_ = DeviceBuffer<float>(n);
  ones_ = DeviceBuffer<float>(n);
  fill(ctx_, ones_.data(), 1.0f, n);
  cap_ = n;
}

template <typename T>
void GpuLlama<T>::set_batch(const llama::Batch& b) {
  std::vector<int32_t> lens(size_t(b.n_seqs()));
  for (int64_t s = 0; s < b.n_seqs(); ++s) lens[size_t(s)] = int32_t(b.seq_len(s));
  set_batch(b.tokens, lens);
}

template <typename T>
void GpuLlama<T>::set_batch(const std::vector<int32_t>& tokens,
                            const std::vector<int32_t>& seq_lens) {
  const int64_t n = int64_t(tokens.size());
  if (n == 0 || seq_lens.empty()) throw std::invalid_argument("GpuLlama::set_batch: empty batch");
  if (std::accumulate(seq_lens.begin(), seq_lens.end(), int64_t(0)) != n)
    throw std::invalid_argument("GpuLlama::set_batch: sequence lengths do not sum to the tokens");
  for (int32_t t : tokens)
    if (t < 0 || t >= c_.vocab_size) throw std::invalid_argument("GpuLlama: token id out of range");
  // No batch is set until this one is: a throw below (out of device memory) leaves forward()
  // refusing to run on half-replaced buffers.
  n_ = 0;
  logits_rows_ = 0;
  alloc_acts(n);
  std::vector<int32_t> start, pos;
  int32_t s0 = 0;
  for (int32_t L : seq_lens) {
    for (int32_t i = 0; i < L; ++i) {
      start.push_back(s0);
      pos.push_back(i);
    }
    s0 += L;
  }
  seq_lens_ = seq_lens;
  cu_seqlens_.assign(1, 0);
  for (int32_t L : seq_lens) cu_seqlens_.push_back(cu_seqlens_.back() + L);
  const AttentionShape sh{n, c_.num_attention_heads, c_.num_key_value_heads, c_.head_dim()};
  const size_t ws = attention_workspace_size<T>(cu_seqlens_.data(),
                                                int64_t(seq_lens.size()), sh, ctx_);
  const char* env = std::getenv("WB_ATTENTION");
  attn_gemm_ = ws <= kAttnGemmMaxBytes && !(env && std::string(env) == "rows");
  if (attn_gemm_ && attn_gemm_ws_.size() * sizeof(float) < ws)
    attn_gemm_ws_ = DeviceBuffer<float>((ws + sizeof(float) - 1) / sizeof(float));
  // Staged through pinned memory: the copies are asynchronous on the model's stream.
  wait_fence(batch_fence_);
  if (stage_batch_.size() < size_t(3 * n)) stage_batch_ = PinnedBuffer<int32_t>(size_t(3 * cap_));
  int32_t* st = stage_batch_.data();
  std::copy(tokens.begin(), tokens.end(), st);
  std::copy(start.begin(), start.end(), st + n);
  std::copy(pos.begin(), pos.end(), st + 2 * n);
  upload(tokens_.data(), st, n, ctx_.s());
  upload(seq_start_.data(), st + n, n, ctx_.s());
  upload(positions_.data(), st + 2 * n, n, ctx_.s());
  WB_CUDA_CHECK(cudaEventRecord(batch_fence_.get(), ctx_.s()));
  rope_table(rope_cs_.data(), positions_.data(), n, c_.head_dim(), float(c_.rope_theta), ctx_);
  n_ = n;
}

template <typename T>
void GpuLlama<T>::linear(int64_t l, int m, T* y, const T* x, int64_t n, T* t) {
  auto [in, out] = shape(m);
  prof_.mark("fwd_linear", ctx_.s());
  linear_forward(y, x, layers_[l].w[m], n, in, out, false, ctx_);
  if (use_ == AdapterUse::kTrained && has_lora_ && lora_pairs_[l][m].on) {
    prof_.mark("fwd_lora", ctx_.s());
    const LoraPair& p = lora_pairs_[l][m];
    lora_forward(y, t, x, p.A.data(), p.B.data(), n, in, out, lora_.rank, lora_.scale, ctx_);
  } else if (use_ == AdapterUse::kFrozen && frozen_pairs_[l][m].on) {
    prof_.mark("fwd_lora", ctx_.s());
    const FrozenPair& p = frozen_pairs_[l][m];
    lora_forward(y, t, x, p.A.data(), p.B.data(), n, in, out, frozen_.rank, frozen_.scale, ctx_);
  }
  prof_.mark("fwd_other", ctx_.s());
}

template <typename T>
void GpuLlama<T>::linear_back(int64_t l, int m, T* dx, const T* dy, const T* x, const T* t,
                              int64_t n, bool accumulate) {
  auto [in, out] = shape(m);
  prof_.mark("bwd_linear", ctx_.s());
  linear_backward<T>(dx, nullptr, dy, x, layers_[l].w[m], n, in, out, accumulate, ctx_);
  // Full training: dW[out, in] += dy^T x, accumulated in fp32 (the master's gradient).
  if (train_full_)
    gemm_f32out<T>(true, false, out, in, n, 1.0f, dy, out, x, in, 1.0f, full_grad(l, m), in, ctx_);
  if (has_lora_ && lora_pairs_[l][m].on) {
    prof_.mark("bwd_lora", ctx_.s());
    LoraPair& p = lora_pairs_[l][m];
    // A frozen adapter still passes its share of dx down.
    lora_backward(dx, train_lora_ ? p.dA.data() : nullptr,
                  train_lora_ ? p.dB.data() : nullptr, dt_.data(), dy, x, t, p.A.data(),
                  p.B.data(), n, in, out, lora_.rank, lora_.scale, ctx_);
  }
  prof_.mark("bwd_other", ctx_.s());
}

template <typename T>
void GpuLlama<T>::forward() {
  forward_hidden();
  prof_.mark("head_xent", ctx_.s());
  const size_t need = size_t(n_ * c_.vocab_size);
  if (logits_.size() < need) {
    logits_ = DeviceBuffer<T>(0);  // free the smaller one first
    logits_ = DeviceBuffer<T>(need);
  }
  const T* head = lm_head_.size() ? lm_head_.data() : embed_.data();
  linear_forward(logits_.data(), xf_.data(), head, n_, c_.hidden_size, c_.vocab_size, false, ctx_);
  logits_rows_ = n_;
}

template <typename T>
void GpuLlama<T>::forward_hidden() {
  if (n_ == 0) throw std::logic_error("GpuLlama::forward: set_batch first");
  logits_rows_ = 0;  // until forward() runs the LM head on this batch
  forward_use_ = use_;
  forward_slot_ = slot_;
  const int64_t n = n_, D = c_.hidden_size, F = c_.intermediate_size;
  const int64_t H = c_.num_attention_heads, KVH = c_.num_key_value_heads, hd = c_.head_dim();
  const float eps = float(c_.rms_norm_eps);
  const AttentionShape sh{n, H, KVH, hd};
  prof_.mark("fwd_other", ctx_.s());
  embedding_forward(acts_[0].x.data(), tokens_.data(), embed_.data(), n, D, ctx_);
  for (int64_t l = 0; l < c_.num_hidden_layers; ++l) {
    Acts& a = acts_[l];
    const Layer& L = layers_[l];
    rmsnorm_forward(a.xn1.data(), a.rstd1.data(), a.x.data(), L.ln1.data(), n, D, eps, ctx_);
    linear(l, kQ, a.q.data(), a.xn1.data(), n, a.t[kQ].data());
    linear(l, kK, a.k.data(), a.xn1.data(), n, a.t[kK].data());
    linear(l, kV, a.v.data(), a.xn1.data(), n, a.t[kV].data());
    rope_forward_table(a.q.data(), H * hd, rope_cs_.data(), n, H, hd, ctx_);
    rope_forward_table(a.k.data(), KVH * hd, rope_cs_.data(), n, KVH, hd, ctx_);
    prof_.mark("fwd_attention", ctx_.s());
    if (attn_gemm_)
      attention_forward(a.att.data(), a.lse.data(), a.q.data(), a.k.data(), a.v.data(),
                        cu_seqlens_.data(), int64_t(seq_lens_.size()), sh,
                        attn_gemm_ws_.data(), ctx_);
    else
      attention_forward_rows(a.att.data(), a.lse.data(), a.q.data(), a.k.data(), a.v.data(),
                             seq_start_.data(), sh, ctx_);
    prof_.mark("fwd_other", ctx_.s());
    linear(l, kO, a.xmid.data(), a.att.data(), n, a.t[kO].data());
    add_inplace(a.xmid.data(), a.x.data(), n * D, ctx_);  // xmid = x + o(att)
    rmsnorm_forward(a.xn2.data(), a.rstd2.data(), a.xmid.data(), L.ln2.data(), n, D, eps, ctx_);
    linear(l, kGate, a.g.data(), a.xn2.data(), n, a.t[kGate].data());
    linear(l, kUp, a.u.data(), a.xn2.data(), n, a.t[kUp].data());
    swiglu_forward(a.h.data(), a.g.data(), a.u.data(), n * F, ctx_);
    T* next = l + 1 < c_.num_hidden_layers ? acts_[l + 1].x.data() : dres_.data();
    linear(l, kDown, next, a.h.data(), n, a.t[kDown].data());
    add_inplace(next, a.xmid.data(), n * D, ctx_);  // x_{l+1} = xmid + down(h)
  }
  // dres_ holds the last residual until backward reuses it.
  rmsnorm_forward(xf_.data(), rstdf_.data(), dres_.data(), norm_.data(), n, D, eps, ctx_);
}

template <typename T>
float GpuLlama<T>::loss_and_backward(const std::vector<int32_t>& targets, bool backward) {
  if (backward && params_.empty())
    throw std::logic_error("backward: nothing trainable (set_lora, init_lora or set_trainable)");
  if (loss_dev_.size() == 0) loss_dev_ = DeviceBuffer<float>(1);
  if (loss_backward_async(targets, {}, loss_dev_.data(), /*accumulate=*/false, backward) == 0)
    throw std::invalid_argument("loss: every target is masked");
  ctx_.synchronize();
  float loss = 0;
  download(&loss, loss_dev_.data(), 1);
  return loss;
}

template <typename T>
int64_t GpuLlama<T>::loss_backward_async(const std::vector<int32_t>& targets,
                                         const std::vector<float>& weights, float* loss_dev,
                                         bool accumulate, bool backward) {
  const int64_t n = n_, D = c_.hidden_size, V = c_.vocab_size;
  if (n == 0 || logits_rows_ != n)
    throw std::logic_error("GpuLlama: the token loss needs forward() (with the LM head) on this batch");
  if (int64_t(targets.size()) != n)
    throw std::invalid_argument("loss: " + std::to_string(targets.size()) + " targets for " +
                                std::to_string(n) + " rows");
  if (!weights.empty() && int64_t(weights.size()) != n)
    throw std::invalid_argument("loss: " + std::to_string(weights.size()) + " mask entries for " +
                                std::to_string(n) + " rows");
  if (backward && params_.empty())
    throw std::logic_error("backward: nothing trainable (set_lora, init_lora or set_trainable)");
  if (backward && !forward_trained())
    throw std::logic_error("backward: the forward ran without the trained adapter (use_adapter)");
  // The CPU's rule (loss.cpp): rows with a target and a positive weight count, the rest get
  // target -1; each counted row's loss gradient is w_i / sum w.
  double wsum = 0;
  n_valid_ = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (targets[i] >= V)
      throw std::invalid_argument("loss: target " + std::to_string(targets[i]) + " at row " +
                                  std::to_string(i) + " is outside the vocabulary");
    const float w = weights.empty() ? 1.0f : weights[i];
    if (w < 0) throw std::invalid_argument("loss: negative mask weight at row " + std::to_string(i));
    if (targets[i] >= 0 && w > 0) {
      wsum += double(w);
      ++n_valid_;
    }
  }
  if (n_valid_ == 0) return 0;
  wait_fence(targets_fence_);
  if (stage_targets_.size() < size_t(n)) {
    stage_targets_ = PinnedBuffer<int32_t>(size_t(cap_));
    stage_dloss_ = PinnedBuffer<float>(size_t(cap_));
  }
  int32_t* tt = stage_targets_.data();
  float* dl = stage_dloss_.data();
  for (int64_t i = 0; i < n; ++i) {
    const float w = weights.empty() ? 1.0f : weights[i];
    const bool on = targets[i] >= 0 && w > 0;
    tt[i] = on ? targets[i] : -1;
    dl[i] = on ? float(double(w) / wsum) : 0.0f;
  }
  upload(targets_.data(), tt, n, ctx_.s());
  upload(dloss_.data(), dl, n, ctx_.s());
  WB_CUDA_CHECK(cudaEventRecord(targets_fence_.get(), ctx_.s()));
  prof_.mark("head_xent", ctx_.s());
  cross_entropy_forward(losses_.data(), logits_.data(), targets_.data(), n, V, ctx_);
  // loss (+)= losses . dloss: the weighted mean, as a 1x1 product on the device.
  linear_forward<float>(loss_dev, losses_.data(), dloss_.data(), 1, n, 1, accumulate, ctx_);
  if (!backward) return n_valid_;

  cross_entropy_backward_inplace(logits_.data(), targets_.data(), dloss_.data(), n, V, ctx_);
  const T* head = lm_head_.size() ? lm_head_.data() : embed_.data();
  // Full training: the output matrix's gradient (embed_tokens' when tied) dW += dlogits^T xf.
  if (train_full_) {
    float* dhead = lm_head_.size() ? lm_head32_.g.data() : embed32_.g.data();
    gemm_f32out<T>(true, false, V, D, n, 1.0f, logits_.data(), V, xf_.data(), D, 1.0f,
                   dhead, D, ctx_);
  }
  if (!decoder_trains()) return n_valid_;
  // d(final norm output); the first product into a gradient buffer overwrites it (no zero fill).
  T* dxf = dbuf_a_.data();
  linear_backward<T>(dxf, nullptr, logits_.data(), xf_.data(), head, n, D, V,
                     /*accumulate=*/false, ctx_);
  backward_decoder(dxf);
  return n_valid_;
}

template <typename T>
void GpuLlama<T>::backward_decoder(T* dxf) {
  const int64_t n = n_, D = c_.hidden_size, F = c_.intermediate_size;
  const int64_t H = c_.num_attention_heads, KVH = c_.num_key_value_heads, hd = c_.head_dim();
  const int64_t KV = c_.kv_dim();
  // d(final norm input): the last residual is in dres_; its gradient goes to dx_.
  // The first product into a gradient buffer overwrites it (no zero fill); the rest accumulate.
  fill_bytes(dx_.data(), 0, n * D, ctx_.s());
  prof_.mark("bwd_other", ctx_.s());
  rmsnorm_backward<T>(dx_.data(), train_full_ ? norm32_.g.data() : nullptr, dxf,
                      dres_.data(), norm_.data(), rstdf_.data(), n, D, ctx_);
  const AttentionShape sh{n, H, KVH, hd};
  for (int64_t l = c_.num_hidden_layers - 1; l >= 0; --l) {
    Acts& a = acts_[l];
    const Layer& L = layers_[l];
    // dx_ = d x_{l+1}. MLP branch: x_{l+1} = xmid + down(swiglu(gate(xn2), up(xn2))).
    T* dh = dbuf_a_.data();
    T* dg = dbuf_b_.data();
    T* du = dbuf_c_.data();
    linear_back(l, kDown, dh, dx_.data(), a.h.data(), a.t[kDown].data(), n, /*accumulate=*/false);
    swiglu_backward(dg, du, dh, a.g.data(), a.u.data(), n * F, /*accumulate=*/false, ctx_);
    T* dxn2 = dres_.data();
    linear_back(l, kGate, dxn2, dg, a.xn2.data(), a.t[kGate].data(), n, /*accumulate=*/false);
    linear_back(l, kUp, dxn2, du, a.xn2.data(), a.t[kUp].data(), n);
    // dx_ becomes d xmid: the residual path plus the norm's backward.
    rmsnorm_backward<T>(dx_.data(), train_full_ ? full_[l].ln2.g.data() : nullptr, dxn2,
                        a.xmid.data(), L.ln2.data(), a.rstd2.data(), n, D, ctx_);
    // Attention branch: xmid = x + o(attn(rope(q(xn1)), rope(k(xn1)), v(xn1))).
    T* datt = dbuf_a_.data();
    linear_back(l, kO, datt, dx_.data(), a.att.data(), a.t[kO].data(), n, /*accumulate=*/false);
    fill_bytes(dq_.data(), 0, n * D, ctx_.s());
    fill_bytes(dk_.data(), 0, n * KV, ctx_.s());
    fill_bytes(dv_.data(), 0, n * KV, ctx_.s());
    prof_.mark("bwd_attention", ctx_.s());
    if (attn_gemm_)
      attention_backward(dq_.data(), dk_.data(), dv_.data(), datt, a.q.data(), a.k.data(),
                         a.v.data(), a.att.data(), a.lse.data(), cu_seqlens_.data(),
                         int64_t(seq_lens_.size()), sh, attn_gemm_ws_.data(), ctx_);
    else
      attention_backward_rows(dq_.data(), dk_.data(), dv_.data(), datt, a.q.data(), a.k.data(),
                              a.v.data(), a.att.data(), a.lse.data(), seq_start_.data(), sh,
                              attn_ws_.data(), ctx_);
    prof_.mark("bwd_other", ctx_.s());
    rope_backward_table(dq_.data(), H * hd, rope_cs_.data(), n, H, hd, ctx_);
    rope_backward_table(dk_.data(), KVH * hd, rope_cs_.data(), n, KVH, hd, ctx_);
    T* dxn1 = dres_.data();
    linear_back(l, kQ, dxn1, dq_.data(), a.xn1.data(), a.t[kQ].data(), n, /*accumulate=*/false);
    linear_back(l, kK, dxn1, dk_.data(), a.xn1.data(), a.t[kK].data(), n);
    linear_back(l, kV, dxn1, dv_.data(), a.xn1.data(), a.t[kV].data(), n);
    // dx_ becomes d x_l.
    rmsnorm_backward<T>(dx_.data(), train_full_ ? full_[l].ln1.g.data() : nullptr, dxn1,
                        a.x.data(), L.ln1.data(), a.rstd1.data(), n, D, ctx_);
    if (on_layer_backward) on_layer_backward(l);
  }
  // dx_ is d x_0: the embedding rows' gradient (summed over repeated tokens).
  if (train_full_) embedding_backward<T>(embed32_.g.data(), dx_.data(), tokens_.data(), n, D, ctx_);
}

template <typename T>
void GpuLlama<T>::adamw_step(float lr, int64_t step) {
  AdamWStep s;
  s.lr = lr;
  s.step = step;
  adamw_step(s);
}

template <typename T>
void GpuLlama<T>::adamw_step(const AdamWStep& s) {
  prof_.mark("adamw", ctx_.s());
  for (const TrainParam& p : params_) {
    AdamWStep ps = s;
    if (!p.decay) ps.weight_decay = 0.0f;  // norms and biases (model.cpp's rule)
    if (p.shadow)
      adamw_update_shadow(p.value, p.shadow, p.grad, p.m, p.v, p.numel, ps, ctx_);
    else
      adamw_update(p.value, p.grad, p.m, p.v, p.numel, ps, ctx_);
    fill_bytes(p.grad, 0, size_t(p.numel), ctx_.s());
  }
}

template <typename T>
void GpuLlama<T>::zero_grads() {
  for (const TrainParam& p : params_) fill_bytes(p.grad, 0, size_t(p.numel), ctx_.s());
}

template <typename T>
double GpuLlama<T>::grad_sq_norm() {
  const size_t k = params_.size();
  if (k == 0) return 0;
  if (norm_slots_.size() < k) norm_slots_ = DeviceBuffer<float>(k);
  for (size_t i = 0; i < k; ++i)
    sum_squares(norm_slots_.data() + i, params_[i].grad, params_[i].numel, ctx_);
  ctx_.synchronize();
  double sum = 0;
  for (float x : to_host(norm_slots_.data(), k)) sum += double(x);
  return sum;
}

namespace {
// A zero-filled fp32 buffer of n elements.
DeviceBuffer<float> zeros(Context& ctx, size_t n) {
  DeviceBuffer<float> b(n);
  fill_bytes(b.data(), 0, n, ctx.s());
  return b;
}
}  // namespace

template <typename T>
void GpuLlama<T>::add_lora_params() {
  if (!has_lora_) return;
  for (int64_t l = 0; l < c_.num_hidden_layers; ++l)
    for (int m = 0; m < 7; ++m) {
      LoraPair& p = lora_pairs_[size_t(l)][size_t(m)];
      if (!p.on) continue;
      for (bool b : {false, true}) {
        TrainParam t;
        t.name = llama::LoraAdapter<float>::key(l, llama::LoraModule(m), b);
        t.numel = int64_t(b ? p.B32.size() : p.A32.size());
        t.decay = llama::decays(t.name);
        t.value = b ? p.B32.data() : p.A32.data();
        t.grad = b ? p.dB.data() : p.dA.data();
        t.m = b ? p.mB.data() : p.mA.data();
        t.v = b ? p.vB.data() : p.vA.data();
        t.shadow = b ? p.B.data() : p.A.data();
        t.layer = l;
        params_.push_back(std::move(t));
      }
    }
}

template <typename T>
float* GpuLlama<T>::full_grad(int64_t l, int m) {
  Layer& L = layers_[size_t(l)];
  LayerMasters& M = full_[size_t(l)];
  // The block's offset inside its fused buffer is the same in the master as in the T copy.
  switch (m) {
    case kQ:
    case kK:
    case kV: return M.wqkv.g.data() + (L.w[m] - L.wqkv.data());
    case kO: return M.wo.g.data();
    case kGate:
    case kUp: return M.wgu.g.data() + (L.w[m] - L.wgu.data());
    default: return M.wdown.g.data();
  }
}

template <typename T>
void GpuLlama<T>::set_head(const llama::ScalarHead<float>& h) {
  const int64_t D = c_.hidden_size;
  if (h.weight.numel() != D || h.bias.numel() != 1)
    throw std::invalid_argument("GpuLlama::set_head: the head must be [" + std::to_string(D) +
                                "] + bias [1], got " + h.weight.shape_string() + " + " +
                                h.bias.shape_string());
  ctx_.synchronize();
  // A previous head's parameters point at the buffers replaced below: drop them first, so none
  // is left dangling if an allocation throws.
  if (train_head_) {
    params_.erase(std::remove_if(params_.begin(), params_.end(),
                                 [](const TrainParam& p) { return p.name.rfind("score.", 0) == 0; }),
                  params_.end());
    train_head_ = false;
  }
  head_w32_ = to_device(h.weight.data);
  head_b32_ = to_device(h.bias.data);
  head_w_ = DeviceBuffer<T>(size_t(D));
  convert(ctx_, head_w_.data(), head_w32_.data(), D);
  head_dw_ = zeros(ctx_, size_t(D));
  head_mw_ = zeros(ctx_, size_t(D));
  head_vw_ = zeros(ctx_, size_t(D));
  head_db_ = zeros(ctx_, 1);
  head_mb_ = zeros(ctx_, 1);
  head_vb_ = zeros(ctx_, 1);
  ctx_.synchronize();
}

template <typename T>
void GpuLlama<T>::set_trainable(const llama::Model<float>& m) {
  const llama::Trainable& tr = m.trainable;
  if (m.config.hidden_size != c_.hidden_size || m.config.vocab_size != c_.vocab_size ||
      m.config.num_hidden_layers != c_.num_hidden_layers ||
      m.config.intermediate_size != c_.intermediate_size || m.config.kv_dim() != c_.kv_dim() ||
      m.config.tie_word_embeddings != c_.tie_word_embeddings)
    throw std::invalid_argument("GpuLlama::set_trainable: the model's config differs from the "
                                "device model's");
  if (tr.lora && !has_lora_)
    throw std::invalid_argument("GpuLlama::set_trainable: LoRA is trainable but no adapter is set");
  if (tr.lora && m.lora)
    for (int64_t l = 0; l < c_.num_hidden_layers; ++l)
      for (int mm = 0; mm < 7; ++mm)
        if (bool(m.lora->pair(l, llama::LoraModule(mm))) != lora_targets(l, mm))
          throw std::invalid_argument("GpuLlama::set_trainable: the adapter set on the device "
                                      "targets other modules than the model's");
  if (tr.head && !has_head())
    throw std::invalid_argument("GpuLlama::set_trainable: the head is trainable but none is set");
  if (tr.full) m.weights.check_shapes(m.config);
  ctx_.synchronize();
  train_full_ = tr.full;
  train_lora_ = tr.lora;
  train_head_ = tr.head;
  params_.clear();
  full_.clear();
  embed32_ = Master{};
  norm32_ = Master{};
  lm_head32_ = Master{};
  if (train_full_) {
    // Masters come from the fp32 source, never from the rounded T copy.
    auto master = [&](const llama::Tensor<float>& t) {
      Master ms;
      ms.w = to_device(t.data);
      ms.g = zeros(ctx_, t.data.size());
      ms.m = zeros(ctx_, t.data.size());
      ms.v = zeros(ctx_, t.data.size());
      return ms;
    };
    // A fused master [a; b; c] from its blocks, in the T copy's layout.
    auto fused = [&](std::initializer_list<const llama::Tensor<float>*> parts) {
      std::vector<float> all;
      for (const auto* p : parts) all.insert(all.end(), p->data.begin(), p->data.end());
      llama::Tensor<float> t;
      t.shape = {int64_t(all.size())};
      t.data = std::move(all);
      return master(t);
    };
    const auto& w = m.weights;
    embed32_ = master(w.embed_tokens);
    norm32_ = master(w.norm);
    if (lm_head_.size()) lm_head32_ = master(w.lm_head);
    for (int64_t l = 0; l < c_.num_hidden_layers; ++l) {
      const auto& src = w.layers[size_t(l)];
      LayerMasters M;
      M.ln1 = master(src.input_layernorm);
      M.ln2 = master(src.post_attention_layernorm);
      M.wqkv = fused({&src.q_proj, &src.k_proj, &src.v_proj});
      M.wo = master(src.o_proj);
      M.wgu = fused({&src.gate_proj, &src.up_proj});
      M.wdown = master(src.down_proj);
      full_.push_back(std::move(M));
    }
    // The parameter list in Weights::for_each order (checked against it below).
    auto add = [&](const std::string& name, Master& ms, size_t offset, int64_t numel, T* shadow,
                   int64_t layer = -1) {
      TrainParam t;
      t.layer = layer;
      t.name = name;
      t.numel = numel;
      t.decay = llama::decays(name);
      t.value = ms.w.data() + offset;
      t.grad = ms.g.data() + offset;
      t.m = ms.m.data() + offset;
      t.v = ms.v.data() + offset;
      t.shadow = shadow;
      params_.push_back(std::move(t));
    };
    add("model.embed_tokens.weight", embed32_, 0, int64_t(embed_.size()), embed_.data());
    for (int64_t l = 0; l < c_.num_hidden_layers; ++l) {
      const std::string p = "model.layers." + std::to_string(l) + ".";
      Layer& L = layers_[size_t(l)];
      LayerMasters& M = full_[size_t(l)];
      auto lin = [&](int mm) {
        const auto [in, out] = shape(mm);
        const std::string name = p + llama::linear_path(llama::LoraModule(mm)) + ".weight";
        if (mm <= kV) add(name, M.wqkv, size_t(L.w[mm] - L.wqkv.data()), in * out, L.w[mm], l);
        else if (mm == kO) add(name, M.wo, 0, in * out, L.w[mm], l);
        else if (mm <= kUp) add(name, M.wgu, size_t(L.w[mm] - L.wgu.data()), in * out, L.w[mm], l);
        else add(name, M.wdown, 0, in * out, L.w[mm], l);
      };
      add(p + "input_layernorm.weight", M.ln1, 0, int64_t(L.ln1.size()), L.ln1.data(), l);
      for (int mm : {kQ, kK, kV, kO}) lin(mm);
      add(p + "post_attention_layernorm.weight", M.ln2, 0, int64_t(L.ln2.size()), L.ln2.data(), l);
      for (int mm : {kGate, kUp, kDown}) lin(mm);
    }
    add("model.norm.weight", norm32_, 0, int64_t(norm_.size()), norm_.data());
    if (lm_head_.size()) add("lm_head.weight", lm_head32_, 0, int64_t(lm_head_.size()), lm_head_.data());
    size_t k = 0;
    w.for_each([&](const std::string& name, const llama::Tensor<float>& t) {
      if (k >= params_.size() || params_[k].name != name || params_[k].numel != t.numel())
        throw std::logic_error("GpuLlama::set_trainable: the device's tensor list differs from the "
                               "model's at '" + name + "'");
      ++k;
    });
  }
  if (train_lora_) add_lora_params();
  if (train_head_) {
    for (auto* b : {&head_dw_, &head_mw_, &head_vw_, &head_db_, &head_mb_, &head_vb_})
      fill_bytes(b->data(), 0, b->size(), ctx_.s());
    TrainParam w;
    w.name = "score.weight";
    w.numel = int64_t(head_w32_.size());
    w.decay = llama::decays(w.name);
    w.value = head_w32_.data();
    w.grad = head_dw_.data();
    w.m = head_mw_.data();
    w.v = head_vw_.data();
    w.shadow = head_w_.data();
    params_.push_back(std::move(w));
    TrainParam b;
    b.name = "score.bias";
    b.numel = 1;
    b.decay = llama::decays(b.name);
    b.value = head_b32_.data();
    b.grad = head_db_.data();
    b.m = head_mb_.data();
    b.v = head_vb_.data();
    params_.push_back(std::move(b));  // no T copy: the forward adds the fp32 bias
  }
  if (train_lora_) {
    // Fresh moments and gradients for the adapter, as for the other parts.
    for (auto& layer : lora_pairs_)
      for (auto& p : layer) {
        if (!p.on) continue;
        for (auto* b : {&p.dA, &p.mA, &p.vA, &p.dB, &p.mB, &p.vB})
          fill_bytes(b->data(), 0, b->size(), ctx_.s());
      }
  }
  ctx_.synchronize();
}

template <typename T>
std::vector<float> GpuLlama<T>::param_state_host(size_t i, ParamState which) {
  const TrainParam& p = params_.at(i);
  const float* src = which == ParamState::kWeight ? p.value
                     : which == ParamState::kGrad ? p.grad
                     : which == ParamState::kAdamM ? p.m
                                                   : p.v;
  ctx_.synchronize();
  return to_host(src, size_t(p.numel));
}

template <typename T>
void GpuLlama<T>::set_param_state(size_t i, ParamState which, const std::vector<float>& v) {
  const TrainParam& p = params_.at(i);
  if (int64_t(v.size()) != p.numel)
    throw std::invalid_argument("GpuLlama: " + std::to_string(v.size()) + " values for '" + p.name +
                                "' of " + std::to_string(p.numel));
  float* dst = which == ParamState::kWeight ? p.value
               : which == ParamState::kGrad ? p.grad
               : which == ParamState::kAdamM ? p.m
                                             : p.v;
  ctx_.synchronize();
  upload(dst, v.data(), v.size());
  if (which == ParamState::kWeight && p.shadow) convert(ctx_, p.shadow, p.value, p.numel);
}

template <typename T>
void GpuLlama<T>::trained_to_host(llama::Model<float>& m) {
  std::unordered_map<std::string, llama::Tensor<float>*> dst;
  auto collect = [&](const std::string& name, llama::Tensor<float>& t) { dst[name] = &t; };
  if (train_full_) m.weights.for_each(collect);
  if (train_lora_) {
    if (!m.lora) throw std::invalid_argument("GpuLlama::trained_to_host: the model has no adapter");
    m.lora->for_each(collect);
  }
  if (train_head_) {
    if (!m.head) throw std::invalid_argument("GpuLlama::trained_to_host: the model has no head");
    m.head->for_each(collect);
  }
  // Check every tensor before copying any.
  for (const TrainParam& p : params_) {
    auto it = dst.find(p.name);
    if (it == dst.end() || it->second->numel() != p.numel)
      throw std::invalid_argument("GpuLlama::trained_to_host: the model has no tensor '" + p.name +
                                  "' of " + std::to_string(p.numel) + " values");
  }
  ctx_.synchronize();
  for (const TrainParam& p : params_) download(dst[p.name]->data.data(), p.value, size_t(p.numel));
}

template <typename T>
std::vector<int32_t> GpuLlama<T>::head_rows(const std::vector<int32_t>& last_index) const {
  const int64_t S = int64_t(seq_lens_.size());
  if (n_ == 0) throw std::logic_error("GpuLlama: set_batch and forward first");
  if (!last_index.empty() && int64_t(last_index.size()) != S)
    throw std::invalid_argument("head: " + std::to_string(last_index.size()) +
                                " last_index entries for " + std::to_string(S) + " sequences");
  std::vector<int32_t> rows(static_cast<size_t>(S));
  int32_t begin = 0;
  for (int64_t s = 0; s < S; ++s) {
    const int32_t end = begin + seq_lens_[size_t(s)];
    const int32_t r = last_index.empty() ? end - 1 : last_index[size_t(s)];
    if (r < begin || r >= end)
      throw std::invalid_argument("head: last_index " + std::to_string(r) + " of sequence " +
                                  std::to_string(s) + " lies outside its rows [" +
                                  std::to_string(begin) + ", " + std::to_string(end) + ")");
    rows[size_t(s)] = r;
    begin = end;
  }
  return rows;
}

template <typename T>
void GpuLlama<T>::head_forward(const std::vector<int32_t>& rows, const std::vector<float>& margins) {
  const int64_t S = int64_t(rows.size());
  wait_fence(head_fence_);
  if (stage_rows_.size() < size_t(S)) {
    stage_rows_ = PinnedBuffer<int32_t>(size_t(cap_));
    stage_margins_ = PinnedBuffer<float>(size_t(cap_));
  }
  std::copy(rows.begin(), rows.end(), stage_rows_.data());
  std::copy(margins.begin(), margins.end(), stage_margins_.data());
  upload(head_rows_.data(), stage_rows_.data(), size_t(S), ctx_.s());
  if (!margins.empty()) upload(margins_.data(), stage_margins_.data(), margins.size(), ctx_.s());
  WB_CUDA_CHECK(cudaEventRecord(head_fence_.get(), ctx_.s()));
  prof_.mark("head_xent", ctx_.s());
  scalar_head_forward<T>(scores_.data(), xf_.data(), head_rows_.data(), S, head_w_.data(),
                         0.0f, c_.hidden_size, ctx_);
  // + b, read on the device: scores[S, 1] += ones[S, 1] * b[1, 1].
  linear_forward<float>(scores_.data(), ones_.data(), head_b32_.data(), S, 1, 1,
                        /*accumulate=*/true, ctx_);
}

template <typename T>
std::vector<float> GpuLlama<T>::head_scores(const std::vector<int32_t>& last_index) {
  if (!has_head()) throw std::logic_error("GpuLlama::head_scores: no head (set_head)");
  const std::vector<int32_t> rows = head_rows(last_index);
  head_forward(rows, {});
  ctx_.synchronize();
  return to_host(scores_.data(), rows.size());
}

template <typename T>
void GpuLlama<T>::check_value_rows(const std::vector<int32_t>& rows) const {
  if (n_ == 0) throw std::logic_error("GpuLlama: set_batch and forward first");
  if (rows.empty() || int64_t(rows.size()) > n_)
    throw std::invalid_argument("head values: " + std::to_string(rows.size()) + " rows for a batch of " +
                                std::to_string(n_));
  std::vector<bool> seen(size_t(n_), false);
  for (int32_t r : rows) {
    if (r < 0 || r >= n_)
      throw std::invalid_argument("head values: row " + std::to_string(r) + " outside the batch of " +
                                  std::to_string(n_));
    if (seen[size_t(r)]) throw std::invalid_argument("head values: row " + std::to_string(r) + " repeated");
    seen[size_t(r)] = true;
  }
}

template <typename T>
std::vector<float> GpuLlama<T>::head_values(const std::vector<int32_t>& rows) {
  if (!has_head()) throw std::logic_error("GpuLlama::head_values: no head (set_head)");
  check_value_rows(rows);
  head_forward(rows, {});
  ctx_.synchronize();
  return to_host(scores_.data(), rows.size());
}

template <typename T>
void GpuLlama<T>::head_values_backward(const std::vector<int32_t>& rows, const std::vector<float>& dv) {
  if (!has_head()) throw std::logic_error("GpuLlama::head_values_backward: no head (set_head)");
  if (params_.empty())
    throw std::logic_error("backward: nothing trainable (set_lora, init_lora or set_trainable)");
  if (!forward_trained())
    throw std::logic_error("backward: the forward ran without the trained adapter (use_adapter)");
  check_value_rows(rows);
  if (dv.size() != rows.size())
    throw std::invalid_argument("head values backward: " + std::to_string(dv.size()) + " gradients for " +
                                std::to_string(rows.size()) + " rows");
  const int64_t S = int64_t(rows.size()), n = n_, D = c_.hidden_size;
  wait_fence(head_fence_);
  if (stage_rows_.size() < size_t(S)) {
    stage_rows_ = PinnedBuffer<int32_t>(size_t(cap_));
    stage_margins_ = PinnedBuffer<float>(size_t(cap_));
  }
  std::copy(rows.begin(), rows.end(), stage_rows_.data());
  std::copy(dv.begin(), dv.end(), stage_margins_.data());
  upload(head_rows_.data(), stage_rows_.data(), size_t(S), ctx_.s());
  upload(dscores_.data(), stage_margins_.data(), size_t(S), ctx_.s());
  WB_CUDA_CHECK(cudaEventRecord(head_fence_.get(), ctx_.s()));
  const bool dec = decoder_trains();
  if (dec) fill_bytes(dbuf_a_.data(), 0, size_t(n * D), ctx_.s());
  // dw += sum_j dv_j h[row_j], db += sum_j dv_j, dh[row_j] += dv_j w (rows distinct).
  scalar_head_backward<T>(train_head_ ? head_dw_.data() : nullptr, train_head_ ? head_db_.data() : nullptr,
                          dec ? dbuf_a_.data() : nullptr, dscores_.data(), xf_.data(), head_rows_.data(), S,
                          head_w_.data(), D, ctx_);
  if (dec) backward_decoder(dbuf_a_.data());
}

template <typename T>
void GpuLlama<T>::ranking_backward_async(const std::vector<int32_t>& last_index,
                                         const std::vector<float>& margins, double centering,
                                         float* loss_dev, bool accumulate, bool backward) {
  if (!has_head()) throw std::logic_error("GpuLlama: the ranking loss needs a head (set_head)");
  if (backward && params_.empty())
    throw std::logic_error("backward: nothing trainable (set_lora, init_lora or set_trainable)");
  if (backward && !forward_trained())
    throw std::logic_error("backward: the forward ran without the trained adapter (use_adapter)");
  const int64_t S = int64_t(seq_lens_.size());
  if (S == 0 || S % 2 != 0)
    throw std::invalid_argument("ranking loss: needs 2P sequences (chosen then rejected), got " +
                                std::to_string(S));
  const int64_t P = S / 2;
  if (!margins.empty() && int64_t(margins.size()) != P)
    throw std::invalid_argument("ranking loss: " + std::to_string(margins.size()) +
                                " margins for " + std::to_string(P) + " pairs");
  if (!(centering >= 0)) throw std::invalid_argument("ranking loss: centering must be >= 0");
  const std::vector<int32_t> rows = head_rows(last_index);
  head_forward(rows, margins);
  ranking_loss(ctx_, loss_dev, backward ? dscores_.data() : nullptr, scores_.data(),
               margins.empty() ? nullptr : margins_.data(), P, centering, accumulate);
  if (!backward) return;
  const bool dec = decoder_trains();
  const int64_t n = n_, D = c_.hidden_size;
  if (dec) fill_bytes(dbuf_a_.data(), 0, size_t(n * D), ctx_.s());
  scalar_head_backward<T>(train_head_ ? head_dw_.data() : nullptr,
                          train_head_ ? head_db_.data() : nullptr, dec ? dbuf_a_.data() : nullptr,
                          dscores_.data(), xf_.data(), head_rows_.data(), S, head_w_.data(), D, ctx_);
  if (dec) backward_decoder(dbuf_a_.data());
}

template <typename T>
bool GpuLlama<T>::lora_targets(int64_t layer, int module) const {
  return has_lora_ && layer >= 0 && layer < int64_t(lora_pairs_.size()) && module >= 0 &&
         module < 7 && lora_pairs_[size_t(layer)][size_t(module)].on;
}

template <typename T>
typename GpuLlama<T>::LoraPair& GpuLlama<T>::pair_at(int64_t layer, int module) {
  if (!lora_targets(layer, module))
    throw std::invalid_argument("GpuLlama: LoRA module " + std::to_string(module) + " of layer " +
                                std::to_string(layer) + " is not targeted");
  return lora_pairs_[size_t(layer)][size_t(module)];
}

template <typename T>
float* GpuLlama<T>::state_ptr(LoraPair& p, bool b, LoraState which) {
  switch (which) {
    case LoraState::kWeight: return b ? p.B32.data() : p.A32.data();
    case LoraState::kGrad: return b ? p.dB.data() : p.dA.data();
    case LoraState::kAdamM: return b ? p.mB.data() : p.mA.data();
    default: return b ? p.vB.data() : p.vA.data();
  }
}

template <typename T>
std::vector<float> GpuLlama<T>::lora_state_host(int64_t layer, int module, bool b,
                                                LoraState which) {
  LoraPair& p = pair_at(layer, module);
  ctx_.synchronize();
  return to_host(state_ptr(p, b, which), b ? p.B32.size() : p.A32.size());
}

template <typename T>
void GpuLlama<T>::set_lora_state(int64_t layer, int module, bool b, LoraState which,
                                 const std::vector<float>& v) {
  LoraPair& p = pair_at(layer, module);
  const size_t size = b ? p.B32.size() : p.A32.size();
  if (v.size() != size)
    throw std::invalid_argument("GpuLlama: LoRA state of " + std::to_string(v.size()) +
                                " values for a matrix of " + std::to_string(size));
  ctx_.synchronize();
  upload(state_ptr(p, b, which), v.data(), size);
  if (which == LoraState::kWeight) {
    if (b) convert(ctx_, p.B.data(), p.B32.data(), size);
    else convert(ctx_, p.A.data(), p.A32.data(), size);
  }
}

template <typename T>
void GpuLlama<T>::lora_host(llama::LoraAdapter<float>& a) {
  if (!has_lora_) throw std::logic_error("GpuLlama::lora_host: no LoRA adapter");
  ctx_.synchronize();
  for (int64_t l = 0; l < c_.num_hidden_layers; ++l)
    for (int m = 0; m < 7; ++m) {
      const auto* dst = a.pair(l, llama::LoraModule(m));
      if (!dst || !lora_targets(l, m)) {
        if (bool(dst) != lora_targets(l, m))
          throw std::invalid_argument("GpuLlama::lora_host: the adapter targets other modules");
        continue;
      }
      LoraPair& p = pair_at(l, m);
      auto& A = a.layers[size_t(l)][size_t(m)].A;
      auto& B = a.layers[size_t(l)][size_t(m)].B;
      if (A.data.size() != p.A32.size() || B.data.size() != p.B32.size())
        throw std::invalid_argument("GpuLlama::lora_host: the adapter has another rank or shape");
      download(A.data.data(), p.A32.data(), p.A32.size());
      download(B.data.data(), p.B32.data(), p.B32.size());
    }
}

template <typename T>
void GpuLlama<T>::EventDeleter::operator()(CUevent_st* e) const noexcept {
  cudaEventDestroy(e);
}

template <typename T>
typename GpuLlama<T>::Event GpuLlama<T>::make_event() {
  cudaEvent_t e = nullptr;
  WB_CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
  return Event(e);
}

template <typename T>
void GpuLlama<T>::wait_fence(const Event& fence) {
  WB_CUDA_CHECK(cudaEventSynchronize(fence.get()));
}

template <typename T>
std::vector<float> GpuLlama<T>::logits_host() {
  if (n_ == 0 || logits_rows_ != n_)
    throw std::logic_error("GpuLlama::logits_host: forward() (with the LM head) on this batch first");
  ctx_.synchronize();
  return to_float(to_host(logits_.data(), size_t(n_ * c_.vocab_size)));
}

template <typename T>
std::vector<std::vector<int32_t>> GpuLlama<T>::generate(
    const std::vector<std::vector<int32_t>>& prompts, int64_t n_new, bool with_lora,
    const std::vector<DeviceSampling>& sampling, const std::vector<uint64_t>& seeds) {
  const int64_t B = int64_t(prompts.size());
  if (B == 0 || n_new <= 0) return std::vector<std::vector<int32_t>>(size_t(B));
  const int64_t P = int64_t(prompts[0].size());
  const bool sample = !sampling.empty();
  if (sample && (int64_t(sampling.size()) != B || int64_t(seeds.size()) != B))
    throw std::invalid_argument("generate: one sampling setting and one seed per prompt");
  for (const auto& p : prompts) {
    if (int64_t(p.size()) != P || P == 0)
      throw std::invalid_argument("generate: prompts must be non-empty and of equal length");
    for (int32_t t : p)
      if (t < 0 || t >= c_.vocab_size) throw std::invalid_argument("generate: token id out of range");
  }
  if (with_lora && !has_lora_) throw std::logic_error("generate: with_lora needs a LoRA adapter");
  // The serving decoder runs the passes (one decode path per device). Everything enqueued on the
  // model's stream so far (weights, LoRA) is finished first; the adapter the model holds now is
  // copied once for the decoder's sequences.
  ctx_.synchronize();
  std::optional<GpuAdapter<T>> adapter;
  if (with_lora) adapter.emplace(*this);
  GpuDecoder<T> dec(*this, B, P + n_new - 1);  // the last new token is not fed back
  std::vector<std::unique_ptr<GpuDecodeSequence<T>>> seqs;
  std::vector<GpuDecodeSequence<T>*> rows;
  for (int64_t b = 0; b < B; ++b) {
    seqs.push_back(std::make_unique<GpuDecodeSequence<T>>(dec));
    seqs.back()->adapter = adapter ? &*adapter : nullptr;
    rows.push_back(seqs.back().get());
  }
  // Sampling on the host with the CPU's sampler: row b draws from Rng(seeds[b]) as sample_token
  // does for a request with that seed.
  std::vector<llama::SamplingParams> params;
  std::vector<llama::Rng> rngs;
  if (sample)
    for (int64_t b = 0; b < B; ++b) {
      const DeviceSampling& d = sampling[size_t(b)];
      params.push_back({double(d.temperature), int64_t(d.top_k), double(d.top_p), seeds[size_t(b)]});
      rngs.emplace_back(seeds[size_t(b)]);
    }
  std::vector<std::vector<int32_t>> feeds = prompts, out(static_cast<size_t>(B));
  std::vector<float> logits;
  const int64_t V = c_.vocab_size;
  for (int64_t j = 0; j < n_new; ++j) {
    dec.forward(std::span<GpuDecodeSequence<T>* const>(rows.data(), rows.size()), feeds, logits);
    for (int64_t b = 0; b < B; ++b) {
      const std::span<const float> row(logits.data() + b * V, size_t(V));
      const int32_t tok = sample ? llama::sample_token(row, params[size_t(b)], rngs[size_t(b)]) : llama::argmax(row);
      out[size_t(b)].push_back(tok);
      feeds[size_t(b)].assign(1, tok);
    }
  }
  return out;
}

template class GpuLlama<float>;
template class GpuLlama<bf16>;

}  // namespace wb::gpu
