// A packed causal GQA attention problem shared by the GPU attention tests: random inputs rounded
// to T, the CPU backend's forward and backward (gradients accumulated onto random starting
// values), and the same inputs uploaded to the device (gradients starting from the same values).
#pragma once

#include <vector>

#include "gpu_test_util.h"
#include "wb/kernels/attention.h"

namespace wb::cuda::test {

template <typename T>
struct AttentionCase {
  std::vector<int32_t> cu;  // cu_seqlens, n_seqs + 1 entries
  int64_t n_seqs, n, H, Hkv, D;
  std::vector<float> q, k, v, dout, dq0, dk0, dv0;  // inputs (rounded to T)
  std::vector<float> out, lse, dq, dk, dv;          // the CPU's results (lse [H, n])
  DeviceBuffer<T> gq, gk, gv, gdout, gdq, gdk, gdv;

  AttentionCase(std::vector<int32_t> cu_seqlens, int64_t heads, int64_t kv_heads, int64_t dim)
      : cu(std::move(cu_seqlens)), n_seqs(int64_t(cu.size()) - 1), n(cu.back()), H(heads),
        Hkv(kv_heads), D(dim) {
    q = round_to<T>(randn(n * H * D, 25));
    k = round_to<T>(randn(n * Hkv * D, 26));
    v = round_to<T>(randn(n * Hkv * D, 27));
    dout = round_to<T>(randn(n * H * D, 28));
    dq0 = round_to<T>(randn(n * H * D, 29));
    dk0 = round_to<T>(randn(n * Hkv * D, 30));
    dv0 = round_to<T>(randn(n * Hkv * D, 31));
    namespace K = wb::kernels;
    out.assign(n * H * D, 0.0f);
    dq = dq0;
    dk = dk0;
    dv = dv0;
    const K::AttentionShape sh{n, H, Hkv, D};
    lse.assign(H * n, 0.0f);
    std::vector<float> work(K::attention_workspace_size<float>(cu.data(), n_seqs, sh) / sizeof(float));
    K::attention_forward<float>(out.data(), lse.data(), q.data(), k.data(), v.data(), cu.data(),
                                n_seqs, sh, work.data());
    K::attention_backward<float>(dq.data(), dk.data(), dv.data(), dout.data(), q.data(), k.data(),
                                 v.data(), out.data(), lse.data(), cu.data(), n_seqs, sh,
                                 work.data());
    gq = upload_as<T>(q);
    gk = upload_as<T>(k);
    gv = upload_as<T>(v);
    gdout = upload_as<T>(dout);
    gdq = upload_as<T>(dq0);
    gdk = upload_as<T>(dk0);
    gdv = upload_as<T>(dv0);
  }

  wb::kernels::AttentionShape shape() const { return {n, H, Hkv, D}; }
  std::vector<int32_t> seq_lens() const {
    std::vector<int32_t> l;
    for (int64_t s = 0; s < n_seqs; ++s) l.push_back(cu[s + 1] - cu[s]);
    return l;
  }
};

}  // namespace wb::cuda::test
