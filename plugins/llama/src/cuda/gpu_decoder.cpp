#include "wb/llama/cuda/gpu_decoder.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "wb/kernels/attention.h"
#include "wb/cuda/check.h"
#include "wb/kernels/embedding.h"
#include "wb/kernels/gemm.h"
#include "wb/cuda/gemv.h"
#include "wb/kernels/lora.h"
#include "wb/kernels/rmsnorm.h"
#include "wb/kernels/rope.h"
#include "wb/kernels/swiglu.h"

namespace wb::gpu {

using namespace wb::cuda;
using namespace wb::kernels;
enum { kQ, kK, kV, kO, kGate, kUp, kDown };

// ---- GpuDecodeSequence -------------------------------------------------------------------------

template <typename T>
GpuDecodeSequence<T>::GpuDecodeSequence(GpuDecoder<T>& decoder, int64_t max_tokens)
    : decoder_(decoder), max_tokens_(max_tokens == 0 ? decoder.max_context() : max_tokens) {
  if (max_tokens_ < 1 || max_tokens_ > decoder.max_context())
    throw std::invalid_argument("GpuDecodeSequence: max_tokens " + std::to_string(max_tokens) +
                                " outside [1, the decoder's max_context " +
                                std::to_string(decoder.max_context()) + "]");
  slot_ = decoder_.acquire_slot();
}

template <typename T>
GpuDecodeSequence<T>::~GpuDecodeSequence() {
  decoder_.release_slot(slot_);
}

// ---- GpuDecoder: slots -------------------------------------------------------------------------

template <typename T>
GpuDecoder<T>::GpuDecoder(GpuLlama<T>& model, int64_t max_seqs, int64_t max_context)
    : m_(model), c_(model.config()), max_seqs_(max_seqs) {
  const int64_t model_ctx = c_.max_position_embeddings;
  max_context_ = max_context == 0 ? model_ctx : max_context;
  if (max_seqs < 1 || max_seqs > (int64_t(1) << 20))
    throw std::invalid_argument("GpuDecoder: max_seqs must be in [1, 2^20], got " + std::to_string(max_seqs));
  if (max_context_ < 1 || max_context_ > model_ctx)
    throw std::invalid_argument("GpuDecoder: max_context " + std::to_string(max_context) +
                                " outside [1, the model's " + std::to_string(model_ctx) + "]");
  // attention_decode keeps a row's scores in shared memory: [head_dim + max_context] floats.
  int dev = 0, optin = 0;
  WB_CUDA_CHECK(cudaGetDevice(&dev));
  WB_CUDA_CHECK(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev));
  const int64_t smem = (c_.head_dim() + max_context_) * int64_t(sizeof(float)) + 1024;  // + static scratch
  if (smem > optin)
    throw std::invalid_argument("GpuDecoder: max_context " + std::to_string(max_context_) +
                                " is longer than decode attention holds on this GPU (" +
                                std::to_string((optin - 1024) / int64_t(sizeof(float)) - c_.head_dim()) +
                                " tokens); lower max_context");
  const int64_t per_layer = max_seqs_ * max_context_ * c_.kv_dim();
  for (int64_t l = 0; l < c_.num_hidden_layers; ++l) {
    k_cache_.emplace_back(size_t(per_layer));
    v_cache_.emplace_back(size_t(per_layer));
  }
  // Highest slot at the bottom of the stack: slots are handed out 0, 1, 2, ...
  for (int64_t s = max_seqs_ - 1; s >= 0; --s) free_.push_back(int32_t(s));
}

template <typename T>
int32_t GpuDecoder<T>::acquire_slot() {
  std::lock_guard lock(slots_mu_);
  if (free_.empty())
    throw std::length_error("GpuDecoder: all " + std::to_string(max_seqs_) +
                            " sequence slots are taken (max_seqs)");
  const int32_t s = free_.back();
  free_.pop_back();
  return s;
}

template <typename T>
void GpuDecoder<T>::release_slot(int32_t slot) noexcept {
  std::lock_guard lock(slots_mu_);
  free_.push_back(slot);
}

template <typename T>
int64_t GpuDecoder<T>::free_slots() const {
  std::lock_guard lock(slots_mu_);
  return int64_t(free_.size());
}

template <typename T>
int64_t GpuDecoder<T>::cache_bytes() const {
  return 2 * c_.num_hidden_layers * max_seqs_ * max_context_ * c_.kv_dim() * int64_t(sizeof(T));
}

template <typename T>
void GpuDecoder<T>::copy_sequence(const GpuDecodeSequence<T>& from, GpuDecodeSequence<T>& to) {
  if (&from.decoder_ != this || &to.decoder_ != this)
    throw std::invalid_argument("GpuDecoder::copy_sequence: a sequence of another decoder");
  if (to.max_tokens_ < from.length_)
    throw std::invalid_argument("GpuDecoder::copy_sequence: the target holds " + std::to_string(to.max_tokens_) +
                                " tokens, the source has " + std::to_string(from.length_));
  const int64_t stride = max_context_ * c_.kv_dim();  // one slot's rows in a layer's cache
  const size_t bytes = size_t(from.length_ * c_.kv_dim()) * sizeof(T);
  Context& ctx = m_.ctx_;
  if (bytes > 0)
    for (size_t l = 0; l < k_cache_.size(); ++l) {
      WB_CUDA_CHECK(cudaMemcpyAsync(k_cache_[l].data() + to.slot_ * stride, k_cache_[l].data() + from.slot_ * stride,
                                    bytes, cudaMemcpyDeviceToDevice, ctx.s()));
      WB_CUDA_CHECK(cudaMemcpyAsync(v_cache_[l].data() + to.slot_ * stride, v_cache_[l].data() + from.slot_ * stride,
                                    bytes, cudaMemcpyDeviceToDevice, ctx.s()));
    }
  ctx.synchronize();
  to.length_ = from.length_;
}

// ---- GpuDecoder: the pass ----------------------------------------------------------------------

template <typename T>
void GpuDecoder<T>::reserve_rows(int64_t n, int64_t out_rows, int64_t max_rank) {
  const int64_t D = c_.hidden_size, F = c_.intermediate_size, KV = c_.kv_dim();
  // Each capacity is raised only once all of its buffers are allocated: an allocation that throws
  // (out of device memory) leaves the capacities describing buffers that really are that large.
  // (cuda::check has taken the failure off the thread's last error, so the next pass is clean.)
  if (n > cap_rows_) {
    for (auto* b : {&x_, &xn_, &q_, &att_}) *b = DeviceBuffer<T>(size_t(n * D));
    k_ = DeviceBuffer<T>(size_t(n * KV));
    v_ = DeviceBuffer<T>(size_t(n * KV));
    for (auto* b : {&g_, &u_, &h_}) *b = DeviceBuffer<T>(size_t(n * F));
    rstd_ = DeviceBuffer<float>(size_t(n));
    rope_cs_ = DeviceBuffer<float>(size_t(n * c_.head_dim()));
    ints_ = DeviceBuffer<int32_t>(size_t(5 * n));  // out_rows <= n
    cap_rows_ = n;
    cap_rank_ = 0;  // lora_t_ is sized by rows too
  }
  if (out_rows > cap_out_) {
    xo_ = DeviceBuffer<T>(size_t(out_rows * D));
    logits_ = DeviceBuffer<T>(size_t(out_rows * c_.vocab_size));
    cap_out_ = out_rows;
  }
  if (max_rank > cap_rank_) {
    lora_t_ = DeviceBuffer<T>(size_t(cap_rows_ * max_rank));
    cap_rank_ = max_rank;
  }
}

namespace {
// Adjacent sequences with the same adapter and scale share one LoRA product (rows [begin, end)).
template <typename T>
struct Segment {
  int64_t begin, end;
  const GpuAdapter<T>* adapter;
  float scale;
};
}  // namespace

template <typename T>
void GpuDecoder<T>::forward(std::span<GpuDecodeSequence<T>* const> seqs,
                            const std::vector<std::vector<int32_t>>& tokens, std::vector<float>& logits,
                            bool all_positions) {
  const int64_t S = int64_t(seqs.size());
  if (S == 0) throw std::invalid_argument("decode: no sequences");
  if (int64_t(tokens.size()) != S)
    throw std::invalid_argument("decode: " + std::to_string(tokens.size()) + " token lists for " +
                                std::to_string(S) + " sequences");
  // Validate everything before anything is enqueued or changed.
  std::vector<int64_t> row0(size_t(S + 1), 0);
  std::vector<bool> seen(size_t(max_seqs_), false);
  int64_t max_rank = 0;
  for (int64_t s = 0; s < S; ++s) {
    const GpuDecodeSequence<T>* q = seqs[s];
    if (!q || &q->decoder_ != this)
      throw std::invalid_argument("decode: sequence " + std::to_string(s) + " belongs to another decoder");
    if (seen[size_t(q->slot_)])
      throw std::invalid_argument("decode: sequence " + std::to_string(s) + " appears twice in the batch");
    seen[size_t(q->slot_)] = true;
    const auto& t = tokens[s];
    if (t.empty()) throw std::invalid_argument("decode: sequence " + std::to_string(s) + " has no new tokens");
    for (int32_t id : t)
      if (id < 0 || id >= c_.vocab_size)
        throw std::invalid_argument("decode: token id " + std::to_string(id) + " outside the vocabulary [0, " +
                                    std::to_string(c_.vocab_size) + ")");
    const int64_t need = q->length_ + int64_t(t.size());
    if (need > q->max_tokens_)
      throw std::length_error("decode: sequence " + std::to_string(s) + " would reach " + std::to_string(need) +
                              " tokens, past its context of " + std::to_string(q->max_tokens_));
    if (q->adapter) {
      if (!q->adapter->fits(c_))
        throw std::invalid_argument("decode: sequence " + std::to_string(s) +
                                    "'s adapter was built for another model shape");
      max_rank = std::max(max_rank, q->adapter->rank());
    }
    row0[size_t(s + 1)] = row0[size_t(s)] + int64_t(t.size());
  }

  const int64_t n = row0[size_t(S)], R = all_positions ? n : S;
  const int64_t D = c_.hidden_size, F = c_.intermediate_size, V = c_.vocab_size, KV = c_.kv_dim();
  const int64_t H = c_.num_attention_heads, KVH = c_.num_key_value_heads, hd = c_.head_dim();
  const float eps = float(c_.rms_norm_eps);
  reserve_rows(n, R, max_rank);

  // Per row: token id, position, slot, attended length (position + 1); then the rows whose
  // logits are wanted. One upload (from pageable memory: staged before the call returns).
  ints_host_.assign(size_t(4 * n + R), 0);
  int32_t* ids = ints_host_.data();
  int32_t* pos = ids + n;
  int32_t* slot = ids + 2 * n;
  int32_t* len = ids + 3 * n;
  int32_t* out_rows = ids + 4 * n;
  std::vector<Segment<T>> segs;
  for (int64_t s = 0; s < S; ++s) {
    const GpuDecodeSequence<T>* q = seqs[s];
    for (int64_t i = 0; i < int64_t(tokens[s].size()); ++i) {
      const int64_t r = row0[size_t(s)] + i;
      ids[r] = tokens[s][size_t(i)];
      pos[r] = int32_t(q->length_ + i);
      slot[r] = q->slot_;
      len[r] = pos[r] + 1;
    }
    const float sc = q->adapter_scale;
    if (!segs.empty() && segs.back().adapter == q->adapter && segs.back().scale == sc)
      segs.back().end = row0[size_t(s + 1)];
    else
      segs.push_back({row0[size_t(s)], row0[size_t(s + 1)], q->adapter, sc});
  }
  for (int64_t r = 0; r < R; ++r) out_rows[r] = int32_t(all_positions ? r : row0[size_t(r + 1)] - 1);

  Context& ctx = m_.ctx_;
  upload(ints_.data(), ints_host_.data(), ints_host_.size(), ctx.s());
  const int32_t* d_ids = ints_.data();
  const int32_t* d_pos = d_ids + n;
  const int32_t* d_slot = d_ids + 2 * n;
  const int32_t* d_len = d_ids + 3 * n;
  const int32_t* d_out = d_ids + 4 * n;

  // y[rows, out] (+)= x W^T: the decode GEMV (W read once, 1-4 rows), else cuBLAS.
  auto base = [&](T* y, const T* x, const T* w, int64_t rows, int64_t in, int64_t out, bool accumulate) {
    if (gemv_fits<T>(rows, in))
      gemv(ctx, y, x, w, rows, in, out, accumulate);
    else
      linear_forward(y, x, w, rows, in, out, accumulate, ctx);
  };
  // y[n, out] (+)= LoRA of module m on each segment's rows (x[n, in]).
  auto lora = [&](int64_t l, int m, T* y, const T* x, int64_t in, int64_t out) {
    for (const auto& g : segs) {
      if (!g.adapter || !g.adapter->A(l, m)) continue;
      lora_forward(y + g.begin * out, lora_t_.data(), x + g.begin * in, g.adapter->A(l, m),
                   g.adapter->B(l, m), g.end - g.begin, in, out, g.adapter->rank(),
                   g.adapter->scale() * g.scale, ctx);
    }
  };

  const AttentionShape sh{n, H, KVH, hd};
  const int64_t stride = max_context_ * KV;  // one slot's rows in a layer's cache
  embedding_forward(x_.data(), d_ids, m_.embed_.data(), n, D, ctx);
  rope_table(rope_cs_.data(), d_pos, n, hd, float(c_.rope_theta), ctx);
  for (int64_t l = 0; l < c_.num_hidden_layers; ++l) {
    const auto& L = m_.layers_[size_t(l)];
    // Attention block: x += o(attention(rope(q), cache + rope(k), cache + v)).
    rmsnorm_forward(xn_.data(), rstd_.data(), x_.data(), L.ln1.data(), n, D, eps, ctx);
    base(q_.data(), xn_.data(), L.w[kQ], n, D, D, false);
    base(k_.data(), xn_.data(), L.w[kK], n, D, KV, false);
    base(v_.data(), xn_.data(), L.w[kV], n, D, KV, false);
    lora(l, kQ, q_.data(), xn_.data(), D, D);
    lora(l, kK, k_.data(), xn_.data(), D, KV);
    lora(l, kV, v_.data(), xn_.data(), D, KV);
    rope_forward_table(q_.data(), H * hd, rope_cs_.data(), n, H, hd, ctx);
    rope_forward_table(k_.data(), KV, rope_cs_.data(), n, KVH, hd, ctx);
    kv_cache_append(k_cache_[size_t(l)].data(), v_cache_[size_t(l)].data(), k_.data(), v_.data(), d_pos,
                    n, stride, KV, d_slot, ctx);
    attention_decode(att_.data(), q_.data(), k_cache_[size_t(l)].data(), v_cache_[size_t(l)].data(), d_len,
                     n, max_context_, stride, sh, d_slot, ctx);
    base(x_.data(), att_.data(), L.w[kO], n, D, D, /*accumulate=*/true);
    lora(l, kO, x_.data(), att_.data(), D, D);
    // MLP block: x += down(silu(gate(xn)) * up(xn)).
    rmsnorm_forward(xn_.data(), rstd_.data(), x_.data(), L.ln2.data(), n, D, eps, ctx);
    base(g_.data(), xn_.data(), L.w[kGate], n, D, F, false);
    base(u_.data(), xn_.data(), L.w[kUp], n, D, F, false);
    lora(l, kGate, g_.data(), xn_.data(), D, F);
    lora(l, kUp, u_.data(), xn_.data(), D, F);
    swiglu_forward(h_.data(), g_.data(), u_.data(), n * F, ctx);
    base(x_.data(), h_.data(), L.w[kDown], n, F, D, /*accumulate=*/true);
    lora(l, kDown, x_.data(), h_.data(), F, D);
  }
  // The wanted rows (a gather: embedding_forward with x as the table), final norm, LM head.
  embedding_forward(xo_.data(), d_out, x_.data(), R, D, ctx);
  rmsnorm_forward(xn_.data(), rstd_.data(), xo_.data(), m_.norm_.data(), R, D, eps, ctx);
  const T* head = m_.lm_head_.size() ? m_.lm_head_.data() : m_.embed_.data();
  base(logits_.data(), xn_.data(), head, R, D, V, false);
  ctx.synchronize();  // throws CudaError on an asynchronous fault: the lengths stay unchanged
  logits = to_float(to_host(logits_.data(), size_t(R * V)));
  for (int64_t s = 0; s < S; ++s) seqs[s]->length_ += int64_t(tokens[s].size());
}

template class GpuDecodeSequence<float>;
template class GpuDecodeSequence<bf16>;
template class GpuDecoder<float>;
template class GpuDecoder<bf16>;

}  // namespace wb::gpu
