// RoPE from a per-batch (cos, sin) table gives the bits of rope_forward / rope_backward, which
// compute the angles in double per element (and those match the CPU, see test_gpu_ops).
// Skipped without a GPU.
#include "gpu_test_util.h"
#include "wb/kernels/rope.h"

using namespace wb::cuda;
using namespace wb::kernels;
using namespace wb::cuda::test;

#define WB_DTYPES float, wb::cuda::fp16, wb::cuda::bf16

TEMPLATE_TEST_CASE("rope from a table equals rope_forward and rope_backward bit for bit", "[gpu]",
                   WB_DTYPES) {
  require_device();
  Context ctx;
  const int64_t n = 37, H = 3, hd = 32, ld = H * hd + 8;  // a row stride wider than the heads
  std::vector<int32_t> pos(n);
  for (int64_t i = 0; i < n; ++i) pos[i] = int32_t((i * 977) % 4099);  // long positions too
  const auto x = round_to<TestType>(randn(n * ld, 70));
  auto gpos = to_device(pos);
  DeviceBuffer<float> cs(n * hd);
  poison(ctx, cs);
  rope_table(cs.data(), gpos.data(), n, hd, 10000.0f, ctx);
  for (bool fwd : {true, false}) {
    auto a = upload_as<TestType>(x), b = upload_as<TestType>(x);
    if (fwd) {
      rope_forward<TestType>(a.data(), ld, gpos.data(), n, H, hd, 10000.0f, ctx);
      rope_forward_table<TestType>(b.data(), ld, cs.data(), n, H, hd, ctx);
    } else {
      rope_backward<TestType>(a.data(), ld, gpos.data(), n, H, hd, 10000.0f, ctx);
      rope_backward_table<TestType>(b.data(), ld, cs.data(), n, H, hd, ctx);
    }
    INFO("forward " << fwd);
    const auto want = download_f(ctx, a), got = download_f(ctx, b);
    CHECK(rel_err(got, want) == 0.0);
    CHECK(rel_err(got, x) > 0.0);  // something was rotated
  }
}
