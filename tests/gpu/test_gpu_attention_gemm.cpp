// Attention through cuBLAS batched GEMMs (attention_forward_gemm / attention_backward_gemm)
// against the CPU backend, packed sequences of different lengths (one of length 1), GQA and
// plain multi-head, accumulating gradients, null gradients skipped. Skipped without a GPU.
#include "gpu_test_util.h"
#include "wb/cuda/attention.h"
#include "wb/kernels/attention.h"

using namespace wb::cuda;
using namespace wb::cuda::test;
namespace K = wb::kernels;

#define WB_DTYPES float, wb::cuda::fp16, wb::cuda::bf16

TEMPLATE_TEST_CASE("GEMM attention matches the CPU, forward and backward", "[gpu]", WB_DTYPES) {
  require_device();
  Context ctx;
  const std::vector<int32_t> cu = {0, 5, 14, 15, 40};
  const std::vector<int32_t> lens = {5, 9, 1, 25};
  const int64_t n_seqs = 4, n = 40, D = 40;
  for (int64_t Hkv : {2, 4}) {
    const int64_t H = 4;
    const auto q = round_to<TestType>(randn(n * H * D, 25));
    const auto k = round_to<TestType>(randn(n * Hkv * D, 26));
    const auto v = round_to<TestType>(randn(n * Hkv * D, 27));
    const auto dout = round_to<TestType>(randn(n * H * D, 28));
    const auto dq0 = round_to<TestType>(randn(n * H * D, 29));
    const auto dk0 = round_to<TestType>(randn(n * Hkv * D, 30));
    const auto dv0 = round_to<TestType>(randn(n * Hkv * D, 31));
    std::vector<float> out(n * H * D), dq = dq0, dk = dk0, dv = dv0;
    std::vector<float> probs(K::attention_probs_size(cu.data(), n_seqs, H));
    std::vector<float> scratch(K::attention_scratch_size(cu.data(), n_seqs));
    K::attention_forward<float>(out.data(), probs.data(), q.data(), k.data(), v.data(), cu.data(),
                                n_seqs, H, Hkv, D);
    K::attention_backward<float>(dq.data(), dk.data(), dv.data(), scratch.data(), dout.data(),
                                 probs.data(), q.data(), k.data(), v.data(), cu.data(), n_seqs, H,
                                 Hkv, D);

    const AttentionShape sh{n, H, Hkv, D};
    DeviceBuffer<float> ws((attention_gemm_workspace(sh, 25, sizeof(TestType)) + 3) / 4);
    auto gq = upload_as<TestType>(q), gk = upload_as<TestType>(k), gv = upload_as<TestType>(v);
    auto gdout = upload_as<TestType>(dout);
    auto gdq = upload_as<TestType>(dq0), gdk = upload_as<TestType>(dk0);
    auto gdv = upload_as<TestType>(dv0);
    DeviceBuffer<TestType> gout(n * H * D);
    DeviceBuffer<float> glse(H * n);
    poison(ctx, gout);
    poison(ctx, glse);
    attention_forward_gemm<TestType>(ctx, gout.data(), glse.data(), gq.data(), gk.data(),
                                     gv.data(), lens, sh, ws.data());
    attention_backward_gemm<TestType>(ctx, gdq.data(), gdk.data(), gdv.data(), gdout.data(),
                                      gq.data(), gk.data(), gv.data(), gout.data(), glse.data(),
                                      lens, sh, ws.data());
    INFO("kv heads " << Hkv);
    CHECK(rel_err(download_f(ctx, gout), out) < tol<TestType>(8));
    CHECK(rel_err(download_f(ctx, gdq), dq) < tol<TestType>(16));
    CHECK(rel_err(download_f(ctx, gdk), dk) < tol<TestType>(16));
    CHECK(rel_err(download_f(ctx, gdv), dv) < tol<TestType>(16));

    // The lse equals the per-row kernel's (what backward and the CPU rely on).
    DeviceBuffer<float> rlse(H * n);
    DeviceBuffer<TestType> rout(n * H * D);
    auto gstart = to_device(seq_start_from_cu_seqlens(cu.data(), n_seqs));
    attention_forward<TestType>(ctx, rout.data(), rlse.data(), gq.data(), gk.data(), gv.data(),
                                gstart.data(), sh);
    CHECK(rel_err(download_f(ctx, glse), download_f(ctx, rlse)) < 1e-5);

    // Only dv requested: dq and dk stay untouched.
    auto gdq2 = upload_as<TestType>(dq0), gdv2 = upload_as<TestType>(dv0);
    attention_backward_gemm<TestType>(ctx, nullptr, nullptr, gdv2.data(), gdout.data(), gq.data(),
                                      gk.data(), gv.data(), gout.data(), glse.data(), lens, sh,
                                      ws.data());
    CHECK(rel_err(download_f(ctx, gdv2), dv) < tol<TestType>(16));
  }
  CHECK_THROWS(attention_forward_gemm<TestType>(ctx, nullptr, nullptr, nullptr, nullptr, nullptr,
                                                std::vector<int32_t>{3}, AttentionShape{4, 4, 2, 8},
                                                nullptr));
}
