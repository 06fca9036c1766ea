// Attention through cuBLAS batched GEMMs (attention_forward_gemm / attention_backward_gemm)
// against the CPU backend, packed sequences of different lengths (one of length 1), GQA and
// plain multi-head, accumulating gradients, null gradients skipped. Skipped without a GPU.
#include "attention_case.h"
#include "gpu_test_util.h"
#include "wb/cuda/attention.h"

using namespace wb::cuda;
using namespace wb::cuda::test;

#define WB_DTYPES float, wb::cuda::fp16, wb::cuda::bf16

TEMPLATE_TEST_CASE("GEMM attention matches the CPU, forward and backward", "[gpu]", WB_DTYPES) {
  require_device();
  Context ctx;
  for (int64_t Hkv : {2, 4}) {
    AttentionCase<TestType> c({0, 5, 14, 15, 40}, 4, Hkv, 40);
    const AttentionShape sh = c.shape();
    const auto lens = c.seq_lens();
    DeviceBuffer<float> ws((attention_gemm_workspace(sh, 25, sizeof(TestType)) + 3) / 4);
    DeviceBuffer<TestType> gout(c.n * c.H * c.D);
    DeviceBuffer<float> glse(c.H * c.n);
    poison(ctx, gout);
    poison(ctx, glse);
    attention_forward_gemm<TestType>(ctx, gout.data(), glse.data(), c.gq.data(), c.gk.data(),
                                     c.gv.data(), lens, sh, ws.data());
    attention_backward_gemm<TestType>(ctx, c.gdq.data(), c.gdk.data(), c.gdv.data(),
                                      c.gdout.data(), c.gq.data(), c.gk.data(), c.gv.data(),
                                      gout.data(), glse.data(), lens, sh, ws.data());
    INFO("kv heads " << Hkv);
    CHECK(rel_err(download_f(ctx, gout), c.out) < tol<TestType>(8));
    CHECK(rel_err(download_f(ctx, c.gdq), c.dq) < tol<TestType>(16));
    CHECK(rel_err(download_f(ctx, c.gdk), c.dk) < tol<TestType>(16));
    CHECK(rel_err(download_f(ctx, c.gdv), c.dv) < tol<TestType>(16));

    // The lse equals the per-row kernel's (what backward and the CPU rely on).
    DeviceBuffer<float> rlse(c.H * c.n);
    DeviceBuffer<TestType> rout(c.n * c.H * c.D);
    auto gstart = to_device(seq_start_from_cu_seqlens(c.cu.data(), c.n_seqs));
    attention_forward<TestType>(ctx, rout.data(), rlse.data(), c.gq.data(), c.gk.data(),
                                c.gv.data(), gstart.data(), sh);
    CHECK(rel_err(download_f(ctx, glse), download_f(ctx, rlse)) < 1e-5);

    // Only dv requested (dq and dk null): dv is still right.
    auto gdv2 = upload_as<TestType>(c.dv0);
    attention_backward_gemm<TestType>(ctx, nullptr, nullptr, gdv2.data(), c.gdout.data(),
                                      c.gq.data(), c.gk.data(), c.gv.data(), gout.data(),
                                      glse.data(), lens, sh, ws.data());
    CHECK(rel_err(download_f(ctx, gdv2), c.dv) < tol<TestType>(16));
  }
  CHECK_THROWS(attention_forward_gemm<TestType>(ctx, nullptr, nullptr, nullptr, nullptr, nullptr,
                                                std::vector<int32_t>{3}, AttentionShape{4, 4, 2, 8},
                                                nullptr));
}
