// The overwrite modes the GPU trainer uses to skip zero fills (swiglu_backward and
// linear_backward with accumulate = false), on the 16-byte vectorized path and the scalar one,
// against the CPU backend starting from zeros; poisoned outputs prove nothing old is read.
// Skipped without a GPU.
#include "gpu_test_util.h"
#include "wb/kernels/gemm.h"
#include "wb/kernels/swiglu.h"
#include "wb/kernels/gemm.h"
#include "wb/kernels/swiglu.h"

using namespace wb::cuda;
using namespace wb::kernels;
using namespace wb::cuda::test;
namespace K = wb::kernels;

#define WB_DTYPES float, wb::cuda::fp16, wb::cuda::bf16

TEMPLATE_TEST_CASE("swiglu overwrites its gradients when asked, vectorized and scalar", "[gpu]",
                   WB_DTYPES) {
  require_device();
  Context ctx;
  for (int64_t count : {1024, 1001}) {  // a multiple of every vector width, and not
    const auto g = round_to<TestType>(randn(count, 90, 2.0f));
    const auto u = round_to<TestType>(randn(count, 91));
    const auto dh = round_to<TestType>(randn(count, 92));
    std::vector<float> h(count), dg(count, 0.0f), du(count, 0.0f);
    K::swiglu_forward<float>(h.data(), g.data(), u.data(), count);
    K::swiglu_backward<float>(dg.data(), du.data(), dh.data(), g.data(), u.data(), count);
    auto gg = upload_as<TestType>(g), gu = upload_as<TestType>(u), gdh = upload_as<TestType>(dh);
    DeviceBuffer<TestType> gh(count), gdg(count), gdu(count);
    poison(ctx, gh);
    poison(ctx, gdg);
    poison(ctx, gdu);
    swiglu_forward<TestType>(gh.data(), gg.data(), gu.data(), count, ctx);
    swiglu_backward<TestType>(gdg.data(), gdu.data(), gdh.data(), gg.data(), gu.data(), count,
                              /*accumulate=*/false, ctx);
    INFO("count " << count);
    CHECK(rel_err(download_f(ctx, gh), h) < tol<TestType>(4));
    CHECK(rel_err(download_f(ctx, gdg), dg) < tol<TestType>(4));
    CHECK(rel_err(download_f(ctx, gdu), du) < tol<TestType>(4));
  }
}

TEMPLATE_TEST_CASE("linear_backward overwrites dx and dw when asked", "[gpu]", WB_DTYPES) {
  require_device();
  Context ctx;
  const int64_t n = 9, in = 40, out = 24;
  const auto x = round_to<TestType>(randn(n * in, 93));
  const auto w = round_to<TestType>(randn(out * in, 94));
  const auto dy = round_to<TestType>(randn(n * out, 95));
  std::vector<float> dx(n * in, 0.0f), dw(out * in, 0.0f);
  K::gemm<float>(false, false, n, in, out, 1.0f, dy.data(), out, w.data(), in, 0.0f, dx.data(), in);
  K::gemm<float>(true, false, out, in, n, 1.0f, dy.data(), out, x.data(), in, 0.0f, dw.data(), in);
  auto gx = upload_as<TestType>(x), gw = upload_as<TestType>(w), gdy = upload_as<TestType>(dy);
  DeviceBuffer<TestType> gdx(n * in), gdw(out * in);
  poison(ctx, gdx);
  poison(ctx, gdw);
  linear_backward<TestType>(gdx.data(), gdw.data(), gdy.data(), gx.data(), gw.data(), n, in,
                            out, /*accumulate=*/false, ctx);
  CHECK(rel_err(download_f(ctx, gdx), dx) < tol<TestType>(4));
  CHECK(rel_err(download_f(ctx, gdw), dw) < tol<TestType>(4));
}
