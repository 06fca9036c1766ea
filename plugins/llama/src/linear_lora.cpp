// Base linear + grouped LoRA segments, forward and backward (see linear_lora.h).
#include "linear_lora.h"
#include "row_invariant_gemm.h"

#include <algorithm>
#include <type_traits>
#include <vector>

#include "wb/kernels/add.h"
#include "wb/kernels/dropout.h"
#include "wb/kernels/gemm.h"
#include "wb/kernels/lora.h"

namespace wb::llama::detail {

namespace {
uint64_t mix(uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
// C[M,N] = alpha * A[M,K] B[N,K]^T + beta * C, contiguous rows. row_invariant: the fixed-order
// row kernel; else tile > 0: BLAS calls of exactly `tile` rows, the last one zero-padded in
// scratch (ForwardOptions::row_tile); else the fastest product for the shape (float: the row
// kernel for 2..stream_rows rows, a decode batch, where sgemm's repacking of B costs more than
// the product; BLAS otherwise: gemv for one row, sgemm for many).
template <typename T>
void gemm_nt_rows(int64_t M, int64_t N, int64_t K, T alpha, const T* A, const T* B, T beta, T* C,
                  int64_t tile, bool row_invariant, int64_t stream_rows) {
  if (row_invariant || (std::is_same_v<T, float> && tile <= 0 && M >= 2 && M <= stream_rows)) {
    row_invariant_gemm_nt<T>(M, N, K, alpha, A, B, beta, C);
    return;
  }
  if (tile <= 0) {
    kernels::gemm<T>(false, true, M, N, K, alpha, A, K, B, K, beta, C, N);
    return;
  }
  const int64_t full = M / tile * tile;
  for (int64_t i = 0; i < full; i += tile)
    kernels::gemm<T>(false, true, tile, N, K, alpha, A + i * K, K, B, K, beta, C + i * N, N);
  const int64_t rest = M - full;
  if (rest == 0) return;
  thread_local std::vector<T> a_pad, c_pad;
  a_pad.assign(static_cast<size_t>(tile * K), T(0));
  c_pad.assign(static_cast<size_t>(tile * N), T(0));
  std::copy(A + full * K, A + M * K, a_pad.begin());
  std::copy(C + full * N, C + M * N, c_pad.begin());
  kernels::gemm<T>(false, true, tile, N, K, alpha, a_pad.data(), K, B, K, beta, c_pad.data(), N);
  std::copy(c_pad.begin(), c_pad.begin() + rest * N, C + full * N);
}
}  // namespace

uint64_t dropout_seed(uint64_t base, int64_t layer, LoraModule m, int64_t row_begin) {
  uint64_t h = mix(base);
  h = mix(h ^ static_cast<uint64_t>(layer * 8 + static_cast<int>(m) + 1));
  return mix(h ^ static_cast<uint64_t>(row_begin));
}

template <typename T>
bool dropout_active(const Model<T>& m, const LoraAdapter<T>* adapter, const ForwardOptions& o) {
  return o.train && adapter && m.lora && adapter == &*m.lora && adapter->config.lora_dropout > 0;
}

template <typename T>
int64_t lora_t_size(int64_t layer, LoraModule mod, const std::vector<AdapterSegment<T>>& segs) {
  int64_t total = 0;
  for (const auto& s : segs)
    if (s.adapter && s.adapter->pair(layer, mod))
      total += (s.row_end - s.row_begin) * s.adapter->config.r;
  return total;
}

template <typename T>
bool base_product_is_gemm(int64_t n, const ForwardOptions& opts) {
  if (opts.row_invariant || opts.row_tile > 0 || n < 2) return false;
  return !(std::is_same_v<T, float> && n <= opts.stream_rows);
}

template <typename T>
void linear_lora_forward(const Model<T>& m, int64_t layer, LoraModule mod, const T* x, int64_t n,
                         const std::vector<AdapterSegment<T>>& segs, const ForwardOptions& opts,
                         T* y, T* t, std::vector<T>& drop) {
  auto [in, out] = linear_shape(m.config, mod);
  const T* w = m.weights.layers[layer].linear_ptr(mod);
  gemm_nt_rows<T>(n, out, in, T(1), x, w, T(0), y, opts.row_tile, opts.row_invariant, opts.stream_rows);
  lora_add(m, layer, mod, x, segs, opts, y, t, drop);
}

template <typename T>
void lora_add(const Model<T>& m, int64_t layer, LoraModule mod, const T* x,
              const std::vector<AdapterSegment<T>>& segs, const ForwardOptions& opts, T* y, T* t,
              std::vector<T>& drop) {
  auto [in, out] = linear_shape(m.config, mod);
  int64_t toff = 0;
  for (const auto& s : segs) {
    const auto* p = s.adapter ? s.adapter->pair(layer, mod) : nullptr;
    if (!p) continue;
    const int64_t rows = s.row_end - s.row_begin, r = s.adapter->config.r;
    const T* xs = x + s.row_begin * in;
    if (dropout_active(m, s.adapter, opts)) {
      T* xd = grow(drop, rows * in);
      kernels::dropout_forward<T>(xd, xs, rows * in,
                                  static_cast<float>(s.adapter->config.lora_dropout),
                                  dropout_seed(opts.dropout_seed, layer, mod, s.row_begin));
      xs = xd;
    }
    const T scale = s.adapter->scale() * s.scale;
    if (opts.row_tile > 0 || opts.row_invariant) {  // kernels::lora_forward's two products
      gemm_nt_rows<T>(rows, r, in, T(1), xs, p->A.ptr(), T(0), t + toff, opts.row_tile, opts.row_invariant, 0);
      gemm_nt_rows<T>(rows, out, r, scale, t + toff, p->B.ptr(), T(1), y + s.row_begin * out,
                      opts.row_tile, opts.row_invariant, 0);
    } else {
      kernels::lora_forward<T>(y + s.row_begin * out, t + toff, xs, p->A.ptr(), p->B.ptr(), rows,
                               in, out, r, scale);
    }
    toff += rows * r;
  }
}

template <typename T>
void linear_lora_backward(const Model<T>& m, int64_t layer, LoraModule mod, const T* x,
                          int64_t n, const std::vector<AdapterSegment<T>>& segs,
                          const ForwardOptions& opts, const T* dy, const T* t, T* dx, T* dW,
                          LoraAdapter<T>* lora_grads, std::vector<T>& dt_scratch,
                          std::vector<T>& drop_x, std::vector<T>& drop_dx) {
  auto [in, out] = linear_shape(m.config, mod);
  kernels::linear_backward<T>(dx, dW, dy, x, m.weights.layers[layer].linear_ptr(mod), n, in,
                              out);
  int64_t toff = 0;
  for (const auto& s : segs) {
    const auto* p = s.adapter ? s.adapter->pair(layer, mod) : nullptr;
    if (!p) continue;
    const int64_t rows = s.row_end - s.row_begin, r = s.adapter->config.r;
    const T* ts = t + toff;
    toff += rows * r;
    T *dA = nullptr, *dB = nullptr;
    if (lora_grads && m.lora && s.adapter == &*m.lora) {
      auto& gp = lora_grads->layers[layer][static_cast<int>(mod)];
      dA = gp.A.ptr();
      dB = gp.B.ptr();
    }
    if (!dx && !dA && !dB) continue;
    const T* xs = x + s.row_begin * in;
    const T* dys = dy + s.row_begin * out;
    T* dxs = dx ? dx + s.row_begin * in : nullptr;
    T* dt = grow(dt_scratch, rows * r);
    if (dropout_active(m, s.adapter, opts)) {
      // Regenerate the dropped input (the mask is a pure function of the seed).
      const float pr = static_cast<float>(s.adapter->config.lora_dropout);
      const uint64_t seed = dropout_seed(opts.dropout_seed, layer, mod, s.row_begin);
      T* xd = grow(drop_x, rows * in);
      kernels::dropout_forward<T>(xd, xs, rows * in, pr, seed);
      T* dxd = nullptr;
      if (dxs) {
        dxd = grow(drop_dx, rows * in);
        kernels::zero<T>(dxd, rows * in);
      }
      kernels::lora_backward<T>(dxd, dA, dB, dt, dys, xd, ts, p->A.ptr(), p->B.ptr(), rows, in,
                                out, r, s.adapter->scale() * s.scale);
      if (dxs) kernels::dropout_backward<T>(dxs, dxd, rows * in, pr, seed);
    } else {
      kernels::lora_backward<T>(dxs, dA, dB, dt, dys, xs, ts, p->A.ptr(), p->B.ptr(), rows, in,
                                out, r, s.adapter->scale() * s.scale);
    }
  }
}

#define WB_INSTANTIATE(T)                                                                      \
  template bool dropout_active<T>(const Model<T>&, const LoraAdapter<T>*, const ForwardOptions&); \
  template bool base_product_is_gemm<T>(int64_t, const ForwardOptions&);                    \
  template void lora_add<T>(const Model<T>&, int64_t, LoraModule, const T*,                  \
                            const std::vector<AdapterSegment<T>>&, const ForwardOptions&, T*, T*, \
                            std::vector<T>&);                                                \
  template int64_t lora_t_size<T>(int64_t, LoraModule, const std::vector<AdapterSegment<T>>&);  \
  template void linear_lora_forward<T>(const Model<T>&, int64_t, LoraModule, const T*, int64_t, \
                                       const std::vector<AdapterSegment<T>>&,                  \
                                       const ForwardOptions&, T*, T*, std::vector<T>&);        \
  template void linear_lora_backward<T>(                                                       \
      const Model<T>&, int64_t, LoraModule, const T*, int64_t,                                 \
      const std::vector<AdapterSegment<T>>&, const ForwardOptions&, const T*, const T*, T*, T*, \
      LoraAdapter<T>*, std::vector<T>&, std::vector<T>&, std::vector<T>&);
WB_INSTANTIATE(float)
WB_INSTANTIATE(double)
#undef WB_INSTANTIATE

}  // namespace wb::llama::detail
