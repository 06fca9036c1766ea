// Backward pass: the reverse of forward.cpp, layer by layer, by hand.
#include "wb/llama/backward.h"

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

namespace detail {
template <typename T>
void run_layer(const Model<T>& m, int64_t l, Workspace<T>& ws, LayerActs<T>& a);
}  // namespace detail

using detail::grow;

namespace {

// Zeroed scratch of n elements.
template <typename T>
T* zeroed(std::vector<T>& v, int64_t n) {
  T* p = grow(v, n);
  kernels::zero<T>(p, n);
  return p;
}

// Backward of one decoder layer. On entry ws.dres holds dL/d(layer output); on exit
// dL/d(layer input).
template <typename T>
void layer_backward(const Model<T>& m, int64_t l, Workspace<T>& ws, const LayerActs<T>& a,
                    Gradients<T>& grads) {
  const LlamaConfig& c = m.config;
  const Batch& b = ws.batch;
  const auto& w = m.weights.layers[l];
  const int64_t N = b.n_tokens(), S = b.n_seqs(), D = c.hidden_size, F = c.intermediate_size;
  const int64_t H = c.num_attention_heads, KV = c.num_key_value_heads, hd = c.head_dim();
  LayerWeights<T>* gw = grads.full ? &grads.full->layers[l] : nullptr;
  LoraAdapter<T>* gl = (m.trainable.lora && grads.lora) ? &*grads.lora : nullptr;
  const auto& segs = ws.segments;
  const ForwardOptions& o = ws.opts;
  T* dres = ws.dres.data();
  auto lin_back = [&](LoraModule mod, const T* x, const T* dy, T* dx) {
    detail::linear_lora_backward(m, l, mod, x, N, segs, o, dy,
                                 a.lora_t[static_cast<int>(mod)].data(), dx,
                                 gw ? gw->linear(mod).ptr() : nullptr, gl, ws.dlora_t, ws.drop_x,
                                 ws.drop_dx);
  };

  // ---- MLP: out = x_mid + down(silu(gate(ln2)) * up(ln2)), ln2 = rmsnorm(x_mid)
  T* dh = zeroed(ws.dh, N * F);
  lin_back(LoraModule::Down, a.h.data(), dres, dh);
  T* dg = zeroed(ws.dg, N * F);
  T* du = zeroed(ws.du, N * F);
  kernels::swiglu_backward<T>(dg, du, dh, a.g.data(), a.u.data(), N * F);
  T* dln = zeroed(ws.dln, N * D);
  lin_back(LoraModule::Gate, a.ln2.data(), dg, dln);
  lin_back(LoraModule::Up, a.ln2.data(), du, dln);
  // dres (= dL/dout, which flows straight to x_mid) += the norm path: now dL/dx_mid
  kernels::rmsnorm_backward<T>(dres, gw ? gw->post_attention_layernorm.ptr() : nullptr, dln,
                               a.x_mid.data(), w.post_attention_layernorm.ptr(),
                               a.rstd2.data(), N, D);

  // ---- attention: x_mid = x + o(attn(rope(q(ln1)), rope(k(ln1)), v(ln1))), ln1 = rmsnorm(x)
  T* datt = zeroed(ws.datt, N * H * hd);
  lin_back(LoraModule::O, a.att.data(), dres, datt);
  T* dq = zeroed(ws.dq, N * H * hd);
  T* dk = zeroed(ws.dk, N * KV * hd);
  T* dv = zeroed(ws.dv, N * KV * hd);
  const kernels::AttentionShape sh{N, H, KV, hd};
  const size_t wsz = kernels::attention_workspace_size<T>(b.cu_seqlens.data(), S, sh);
  kernels::attention_backward<T>(dq, dk, dv, datt, a.q.data(), a.k.data(), a.v.data(),
                                 a.att.data(), a.lse.data(), b.cu_seqlens.data(), S, sh,
                                 grow(ws.attn_scratch, int64_t(wsz / sizeof(T))));
  kernels::rope_backward<T>(dq, H * hd, b.positions.data(), N, H, hd, c.rope_theta);
  kernels::rope_backward<T>(dk, KV * hd, b.positions.data(), N, KV, hd, c.rope_theta);
  dln = zeroed(ws.dln, N * D);
  lin_back(LoraModule::Q, a.ln1.data(), dq, dln);
  lin_back(LoraModule::K, a.ln1.data(), dk, dln);
  lin_back(LoraModule::V, a.ln1.data(), dv, dln);
  kernels::rmsnorm_backward<T>(dres, gw ? gw->input_layernorm.ptr() : nullptr, dln,
                               ws.layer_in[l].data(), w.input_layernorm.ptr(), a.rstd1.data(), N,
                               D);
}

}  // namespace

namespace {

template <typename T>
void backward_impl(const Model<T>& m, Workspace<T>& ws, const T* dlogits, const T* dhead, const T* dhidden_in,
                   Gradients<T>& grads) {
  if (!ws.backward_ready)
    throw std::logic_error("backward: the workspace holds no forward run with for_backward");
  if (!dlogits && !dhead && !dhidden_in)
    throw std::invalid_argument("backward: no gradient source (dlogits, dhead or dhidden)");
  if (dhead && !m.head) throw std::invalid_argument("backward: dhead given but the model has no scalar head");
  if (dhead && !ws.opts.head) throw std::invalid_argument("backward: dhead given but forward ran without opts.head");
  if (m.trainable.full && !grads.full) throw std::invalid_argument("backward: no full-weight gradients");
  if (m.trainable.lora && !grads.lora) throw std::invalid_argument("backward: no LoRA gradients");
  if (m.trainable.head && !grads.head) throw std::invalid_argument("backward: no head gradients");
  ws.backward_ready = false;

  const LlamaConfig& c = m.config;
  const Batch& b = ws.batch;
  const int64_t N = b.n_tokens(), S = b.n_seqs(), D = c.hidden_size, L = c.num_hidden_layers;
  const bool full = m.trainable.full;

  // ---- outputs: logits = hidden Wout^T ; head_s = dot(hidden[last_s], w) + b
  T* dhidden = zeroed(ws.dhidden, N * D);
  if (dlogits) {
    T* dwout = nullptr;
    if (full) dwout = c.tie_word_embeddings ? grads.full->embed_tokens.ptr() : grads.full->lm_head.ptr();
    kernels::linear_backward<T>(dhidden, dwout, dlogits, ws.hidden.data(),
                                m.weights.output_embedding().ptr(), N, D, c.vocab_size);
  }
  if (dhead) {
    const bool th = m.trainable.head;
    kernels::scalar_head_backward<T>(th ? grads.head->weight.ptr() : nullptr,
                                     th ? grads.head->bias.ptr() : nullptr, dhidden, dhead,
                                     ws.hidden.data(), b.last_index.data(), S,
                                     m.head->weight.ptr(), D);
  }
  if (dhidden_in) kernels::add<T>(dhidden, dhidden, dhidden_in, N * D);
  if (!full && !m.trainable.lora) return;  // nothing below the head is trained

  // ---- final norm
  T* dres = zeroed(ws.dres, N * D);
  kernels::rmsnorm_backward<T>(dres, full ? grads.full->norm.ptr() : nullptr, dhidden,
                               ws.layer_in[L].data(), m.weights.norm.ptr(), ws.final_rstd.data(),
                               N, D);

  // ---- layers, last to first (recompute: refill acts[0] from the saved layer input first)
  const bool recompute = ws.opts.recompute;
  for (int64_t l = L - 1; l >= 0; --l) {
    if (recompute) detail::run_layer(m, l, ws, ws.acts[0]);
    layer_backward(m, l, ws, ws.acts[recompute ? 0 : l], grads);
  }

  // ---- embeddings
  if (full)
    kernels::embedding_backward<T>(grads.full->embed_tokens.ptr(), dres, b.tokens.data(), N, D);
}

}  // namespace

template <typename T>
void backward(const Model<T>& m, Workspace<T>& ws, const std::type_identity_t<T>* dlogits,
              const std::type_identity_t<T>* dhead, Gradients<T>& grads) {
  backward_impl<T>(m, ws, dlogits, dhead, nullptr, grads);
}

template <typename T>
void backward_hidden(const Model<T>& m, Workspace<T>& ws, const std::type_identity_t<T>* dlogits,
                     const std::type_identity_t<T>* dhead, const std::type_identity_t<T>* dhidden,
                     Gradients<T>& grads) {
  if (!dhidden) throw std::invalid_argument("backward_hidden: dhidden is null");
  backward_impl<T>(m, ws, dlogits, dhead, dhidden, grads);
}

template void backward_hidden<float>(const Model<float>&, Workspace<float>&, const float*, const float*,
                                     const float*, Gradients<float>&);
template void backward_hidden<double>(const Model<double>&, Workspace<double>&, const double*, const double*,
                                      const double*, Gradients<double>&);
template void backward<float>(const Model<float>&, Workspace<float>&, const float*, const float*,
                              Gradients<float>&);
template void backward<double>(const Model<double>&, Workspace<double>&, const double*,
                               const double*, Gradients<double>&);

}  // namespace wb::llama
