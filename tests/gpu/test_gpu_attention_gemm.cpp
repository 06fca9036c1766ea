// Attention through cuBLAS batched GEMMs (attention_forward / attention_backward on CUDA)
// against the CPU backend, packed sequences of different lengths (one of length 1), GQA and
// plain multi-head, accumulating gradients, null gradients skipped. Skipped without a GPU.
#include "attention_case.h"
#include "gpu_test_util.h"
#include "wb/kernels/attention.h"

using namespace wb::cuda;
using namespace wb::kernels;
using namespace wb::cuda::test;

#define WB_DTYPES float, wb::cuda::fp16, wb::cuda::bf16

TEMPLATE_TEST_CASE("GEMM attention matches the CPU, forward and backward", "[gpu]", WB_DTYPES) {
  require_device();
  Context ctx;
  for (int64_t Hkv : {2, 4}) {
    AttentionCase<TestType> c({0, 5, 14, 15, 40}, 4, Hkv, 40);
    const AttentionShape sh = c.shape();
    DeviceBuffer<float> ws(
        (attention_workspace_size<TestType>(c.cu.data(), c.n_seqs, sh, ctx) + 3) / 4);
    DeviceBuffer<TestType> gout(c.n * c.H * c.D);
    DeviceBuffer<float> glse(c.H * c.n);
    poison(ctx, gout);
    poison(ctx, glse);
    attention_forward<TestType>(gout.data(), glse.data(), c.gq.data(), c.gk.data(), c.gv.data(),
                                c.cu.data(), c.n_seqs, sh, ws.data(), ctx);
    attention_backward<TestType>(c.gdq.data(), c.gdk.data(), c.gdv.data(), c.gdout.data(),
                                 c.gq.data(), c.gk.data(), c.gv.data(), gout.data(), glse.data(),
                                 c.cu.data(), c.n_seqs, sh, ws.data(), ctx);
    INFO("kv heads " << Hkv);
    CHECK(rel_err(download_f(ctx, gout), c.out) < tol<TestType>(8));
    CHECK(rel_err(download_f(ctx, c.gdq), c.dq) < tol<TestType>(16));
    CHECK(rel_err(download_f(ctx, c.gdk), c.dk) < tol<TestType>(16));
    CHECK(rel_err(download_f(ctx, c.gdv), c.dv) < tol<TestType>(16));
    CHECK(rel_err(download_f(ctx, glse), c.lse) < 1e-5);  // the CPU's saved lse, same layout

    // The lse equals the per-row kernel's (what backward and the CPU rely on).
    DeviceBuffer<float> rlse(c.H * c.n);
    DeviceBuffer<TestType> rout(c.n * c.H * c.D);
    auto gstart = to_device(seq_start_from_cu_seqlens(c.cu.data(), c.n_seqs));
    attention_forward_rows<TestType>(rout.data(), rlse.data(), c.gq.data(), c.gk.data(),
                                     c.gv.data(), gstart.data(), sh, ctx);
    CHECK(rel_err(download_f(ctx, glse), download_f(ctx, rlse)) < 1e-5);

    // Only dv requested (dq and dk null): dv is still right.
    auto gdv2 = upload_as<TestType>(c.dv0);
    attention_backward<TestType>(nullptr, nullptr, gdv2.data(), c.gdout.data(), c.gq.data(),
                                 c.gk.data(), c.gv.data(), gout.data(), glse.data(), c.cu.data(),
                                 c.n_seqs, sh, ws.data(), ctx);
    CHECK(rel_err(download_f(ctx, gdv2), c.dv) < tol<TestType>(16));
  }
  const std::vector<int32_t> short_cu{0, 3};  // lengths summing to 3 for a shape of 4 rows
  CHECK_THROWS(attention_forward<TestType>(nullptr, nullptr, nullptr, nullptr, nullptr,
                                           short_cu.data(), 1, AttentionShape{4, 4, 2, 8},
                                           nullptr, ctx));
}
