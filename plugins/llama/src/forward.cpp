// Forward pass over packed sequences, built from the per-layer pieces the decoder also uses.
#include "wb/llama/forward.h"

#include <algorithm>
#include <set>
#include <stdexcept>

#include "linear_lora.h"
#include "wb/kernels/add.h"
#include "wb/kernels/attention.h"
#include "wb/kernels/embedding.h"
#include "wb/kernels/gemm.h"
#include "wb/kernels/rmsnorm.h"
#include "wb/kernels/rope.h"
#include "wb/kernels/scalar_head.h"
#include "wb/kernels/swiglu.h"

namespace wb::llama {

using detail::grow;

namespace {
// Output of one fused product ([n, Q + 2 KV] or [n, 2F]), per thread, grown to the largest seen.
template <typename T>
T* fused_scratch(int64_t n) {
  thread_local std::vector<T> buf;
  return grow(buf, n);
}
// Whether this layer's q/k/v and gate/up products run fused for n rows (ForwardOptions::fuse_products).
template <typename T>
bool fused(const LayerWeights<T>& w, int64_t n, const ForwardOptions& opts) {
  return w.packed() && opts.fuse_products && detail::base_product_is_gemm<T>(n, opts);
}
}  // namespace

template <typename T>
std::vector<AdapterSegment<T>> adapter_segments(
    const Model<T>& m, const Batch& batch, const std::vector<const LoraAdapter<T>*>& adapters) {
  const int64_t S = batch.n_seqs();
  std::vector<AdapterSegment<T>> segs;
  if (adapters.empty()) {
    segs.push_back({0, batch.n_tokens(), m.lora ? &*m.lora : nullptr});
    return segs;
  }
  if (static_cast<int64_t>(adapters.size()) != S)
    throw std::invalid_argument("forward: " + std::to_string(adapters.size()) +
                                " adapters given for " + std::to_string(S) + " sequences");
  for (int64_t s = 0; s < S; ++s) {
    const int64_t b = batch.cu_seqlens[s], e = batch.cu_seqlens[s + 1];
    if (!segs.empty() && segs.back().adapter == adapters[s] && segs.back().row_end == b)
      segs.back().row_end = e;
    else
      segs.push_back({b, e, adapters[s]});
  }
  return segs;
}

template <typename T>
void embed(const Model<T>& m, const int32_t* tokens, int64_t n, T* x) {
  for (int64_t i = 0; i < n; ++i)
    if (tokens[i] < 0 || tokens[i] >= m.config.vocab_size)
      throw std::invalid_argument("embed: token " + std::to_string(tokens[i]) +
                                  " is outside the vocabulary");
  kernels::embedding_forward<T>(x, tokens, m.weights.embed_tokens.ptr(), n, m.config.hidden_size);
}

template <typename T>
void layer_qkv(const Model<T>& m, int64_t layer, const T* x, const int32_t* positions, int64_t n,
               const std::vector<AdapterSegment<T>>& segments, LayerActs<T>& a,
               const ForwardOptions& opts) {
  const LlamaConfig& c = m.config;
  const auto& w = m.weights.layers[layer];
  const int64_t H = c.num_attention_heads, KV = c.num_key_value_heads, hd = c.head_dim();
  std::array<int64_t, kNumLinear> tsz{};
  for (LoraModule mod : all_lora_modules())
    tsz[static_cast<int>(mod)] = detail::lora_t_size(layer, mod, segments);
  a.resize(c, n, tsz);  // grows only
  kernels::rmsnorm_forward<T>(a.ln1.data(), a.rstd1.data(), x, w.input_layernorm.ptr(), n,
                              c.hidden_size, c.rms_norm_eps);
  if (fused(w, n, opts)) {  // one GEMM over [Wq; Wk; Wv], split into q, k, v, then each LoRA
    const int64_t QD = H * hd, KVD = KV * hd, W = QD + 2 * KVD, D = c.hidden_size;
    T* f = fused_scratch<T>(n * W);
    kernels::gemm<T>(false, true, n, W, D, T(1), a.ln1.data(), D, w.qkv_proj.ptr(), D, T(0), f, W);
    for (int64_t i = 0; i < n; ++i) {
      const T* r = f + i * W;
      std::copy(r, r + QD, a.q.data() + i * QD);
      std::copy(r + QD, r + QD + KVD, a.k.data() + i * KVD);
      std::copy(r + QD + KVD, r + W, a.v.data() + i * KVD);
    }
    detail::lora_add(m, layer, LoraModule::Q, a.ln1.data(), segments, opts, a.q.data(), a.lora_t[0].data(), a.drop_x);
    detail::lora_add(m, layer, LoraModule::K, a.ln1.data(), segments, opts, a.k.data(), a.lora_t[1].data(), a.drop_x);
    detail::lora_add(m, layer, LoraModule::V, a.ln1.data(), segments, opts, a.v.data(), a.lora_t[2].data(), a.drop_x);
  } else {
    detail::linear_lora_forward(m, layer, LoraModule::Q, a.ln1.data(), n, segments, opts,
                                a.q.data(), a.lora_t[0].data(), a.drop_x);
    detail::linear_lora_forward(m, layer, LoraModule::K, a.ln1.data(), n, segments, opts,
                                a.k.data(), a.lora_t[1].data(), a.drop_x);
    detail::linear_lora_forward(m, layer, LoraModule::V, a.ln1.data(), n, segments, opts,
                                a.v.data(), a.lora_t[2].data(), a.drop_x);
  }
  kernels::rope_forward<T>(a.q.data(), H * hd, positions, n, H, hd, c.rope_theta);
  kernels::rope_forward<T>(a.k.data(), KV * hd, positions, n, KV, hd, c.rope_theta);
}

template <typename T>
void layer_out_mlp(const Model<T>& m, int64_t layer, const T* x,
                   const std::vector<AdapterSegment<T>>& segments, LayerActs<T>& a,
                   const ForwardOptions& opts, T* x_out) {
  const LlamaConfig& c = m.config;
  const auto& w = m.weights.layers[layer];
  const int64_t n = a.n, D = c.hidden_size, F = c.intermediate_size;
  // x_mid = x + o_proj(att)
  detail::linear_lora_forward(m, layer, LoraModule::O, a.att.data(), n, segments, opts,
                              a.x_mid.data(), a.lora_t[3].data(), a.drop_x);
  kernels::add<T>(a.x_mid.data(), x, a.x_mid.data(), n * D);
  // MLP on rmsnorm(x_mid)
  kernels::rmsnorm_forward<T>(a.ln2.data(), a.rstd2.data(), a.x_mid.data(),
                              w.post_attention_layernorm.ptr(), n, D, c.rms_norm_eps);
  if (fused(w, n, opts)) {  // one GEMM over [Wgate; Wup]
    const int64_t W = 2 * F;
    T* f = fused_scratch<T>(n * W);
    kernels::gemm<T>(false, true, n, W, D, T(1), a.ln2.data(), D, w.gate_up_proj.ptr(), D, T(0), f, W);
    const bool lora = detail::lora_t_size(layer, LoraModule::Gate, segments) > 0 ||
                      detail::lora_t_size(layer, LoraModule::Up, segments) > 0;
    if (!lora && !opts.for_backward) {  // SwiGLU straight from the fused rows
      for (int64_t i = 0; i < n; ++i)
        kernels::swiglu_forward<T>(a.h.data() + i * F, f + i * W, f + i * W + F, F);
    } else {  // g and u whole: the LoRA products add to them, backward reads them
      for (int64_t i = 0; i < n; ++i) {
        std::copy(f + i * W, f + i * W + F, a.g.data() + i * F);
        std::copy(f + i * W + F, f + (i + 1) * W, a.u.data() + i * F);
      }
      detail::lora_add(m, layer, LoraModule::Gate, a.ln2.data(), segments, opts, a.g.data(), a.lora_t[4].data(), a.drop_x);
      detail::lora_add(m, layer, LoraModule::Up, a.ln2.data(), segments, opts, a.u.data(), a.lora_t[5].data(), a.drop_x);
      kernels::swiglu_forward<T>(a.h.data(), a.g.data(), a.u.data(), n * F);
    }
  } else {
    detail::linear_lora_forward(m, layer, LoraModule::Gate, a.ln2.data(), n, segments, opts,
                                a.g.data(), a.lora_t[4].data(), a.drop_x);
    detail::linear_lora_forward(m, layer, LoraModule::Up, a.ln2.data(), n, segments, opts,
                                a.u.data(), a.lora_t[5].data(), a.drop_x);
    kernels::swiglu_forward<T>(a.h.data(), a.g.data(), a.u.data(), n * F);
  }
  // x_out = x_mid + down_proj(h); x may alias x_out, it is no longer read.
  detail::linear_lora_forward(m, layer, LoraModule::Down, a.h.data(), n, segments, opts, x_out,
                              a.lora_t[6].data(), a.drop_x);
  kernels::add<T>(x_out, a.x_mid.data(), x_out, n * D);
}

template <typename T>
void final_norm(const Model<T>& m, const T* x, int64_t n, T* hidden, std::type_identity_t<T>* rstd) {
  kernels::rmsnorm_forward<T>(hidden, rstd, x, m.weights.norm.ptr(), n, m.config.hidden_size,
                              m.config.rms_norm_eps);
}

template <typename T>
void lm_head(const Model<T>& m, const T* hidden, int64_t n, T* logits) {
  kernels::linear_forward<T>(logits, hidden, m.weights.output_embedding().ptr(), n,
                             m.config.hidden_size, m.config.vocab_size);
}

namespace detail {
// Sizes acts for the batch and runs one whole layer (qkv, packed attention, out + MLP).
template <typename T>
void run_layer(const Model<T>& m, int64_t l, Workspace<T>& ws, LayerActs<T>& a) {
  const LlamaConfig& c = m.config;
  const Batch& b = ws.batch;
  const int64_t N = b.n_tokens(), S = b.n_seqs();
  std::array<int64_t, kNumLinear> tsz{};
  for (LoraModule mod : all_lora_modules())
    tsz[static_cast<int>(mod)] = lora_t_size(l, mod, ws.segments);
  a.resize(c, N, tsz);
  layer_qkv(m, l, ws.layer_in[l].data(), b.positions.data(), N, ws.segments, a, ws.opts);
  const kernels::AttentionShape sh{N, c.num_attention_heads, c.num_key_value_heads, c.head_dim()};
  const size_t wsz = kernels::attention_workspace_size<T>(b.cu_seqlens.data(), S, sh);
  kernels::attention_forward<T>(a.att.data(), a.lse.data(), a.q.data(), a.k.data(), a.v.data(),
                                b.cu_seqlens.data(), S, sh,
                                detail::grow(ws.attn_scratch, int64_t(wsz / sizeof(T))));
  layer_out_mlp(m, l, ws.layer_in[l].data(), ws.segments, a, ws.opts, ws.layer_in[l + 1].data());
}
template void run_layer<float>(const Model<float>&, int64_t, Workspace<float>&, LayerActs<float>&);
template void run_layer<double>(const Model<double>&, int64_t, Workspace<double>&, LayerActs<double>&);
}  // namespace detail

template <typename T>
void forward(const Model<T>& m, const Batch& batch, Workspace<T>& ws, const ForwardOptions& opts,
             const std::vector<const LoraAdapter<T>*>& adapters) {
  const LlamaConfig& c = m.config;
  ws.backward_ready = false;
  m.validate();  // shapes of weights/adapter/head against the config: no out-of-bounds reads
  ws.batch = batch;
  ws.batch.fill_defaults();
  ws.batch.validate(c);
  if (opts.head && !m.head) throw std::invalid_argument("forward: opts.head but the model has no scalar head");
  ws.segments = adapter_segments(m, ws.batch, adapters);
  std::set<const LoraAdapter<T>*> seen;
  for (const auto& s : ws.segments)
    if (s.adapter && seen.insert(s.adapter).second) s.adapter->check_shapes(c);
  ws.opts = opts;

  const Batch& b = ws.batch;
  const int64_t N = b.n_tokens(), S = b.n_seqs(), D = c.hidden_size, L = c.num_hidden_layers;
  ws.layer_in.resize(L + 1);
  for (auto& v : ws.layer_in) grow(v, N * D);
  const bool keep_all = opts.for_backward && !opts.recompute;
  ws.acts.resize(keep_all ? L : 1);

  embed(m, b.tokens.data(), N, ws.layer_in[0].data());
  for (int64_t l = 0; l < L; ++l) detail::run_layer(m, l, ws, ws.acts[keep_all ? l : 0]);

  final_norm(m, ws.layer_in[L].data(), N, grow(ws.hidden, N * D), grow(ws.final_rstd, N));
  if (opts.logits) lm_head(m, ws.hidden.data(), N, grow(ws.logits, N * c.vocab_size));
  if (opts.head)
    kernels::scalar_head_forward<T>(grow(ws.head_values, S), ws.hidden.data(),
                                    b.last_index.data(), S, m.head->weight.ptr(),
                                    m.head->bias.data[0], D);
  ws.backward_ready = opts.for_backward;
}

#define WB_INSTANTIATE(T)                                                                      \
  template std::vector<AdapterSegment<T>> adapter_segments<T>(                                 \
      const Model<T>&, const Batch&, const std::vector<const LoraAdapter<T>*>&);               \
  template void embed<T>(const Model<T>&, const int32_t*, int64_t, T*);                        \
  template void layer_qkv<T>(const Model<T>&, int64_t, const T*, const int32_t*, int64_t,      \
                             const std::vector<AdapterSegment<T>>&, LayerActs<T>&,             \
                             const ForwardOptions&);                                           \
  template void layer_out_mlp<T>(const Model<T>&, int64_t, const T*,                           \
                                 const std::vector<AdapterSegment<T>>&, LayerActs<T>&,         \
                                 const ForwardOptions&, T*);                                   \
  template void final_norm<T>(const Model<T>&, const T*, int64_t, T*, T*);                     \
  template void lm_head<T>(const Model<T>&, const T*, int64_t, T*);                            \
  template void forward<T>(const Model<T>&, const Batch&, Workspace<T>&, const ForwardOptions&, \
                           const std::vector<const LoraAdapter<T>*>&);
WB_INSTANTIATE(float)
WB_INSTANTIATE(double)
#undef WB_INSTANTIATE

}  // namespace wb::llama
