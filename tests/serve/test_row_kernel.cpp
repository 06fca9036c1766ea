// The engine's fixed-order row kernel (plugins/llama/src/row_invariant_gemm.h) that serving's
// batch invariance rests on: a row's result is bit-identical whatever the row count and the row's
// position (tails of the 4-row groups, K not a multiple of 16, N not a multiple of the column
// block, beta 0 and 1), and it computes the product (checked against a double-precision loop).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <vector>

#include "row_invariant_gemm.h"
#include "wb/llama/rng.h"

using wb::llama::detail::row_invariant_gemm_nt;

namespace {
std::vector<float> randoms(size_t n, uint64_t seed) {
  wb::llama::Rng rng(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = rng.normal();
  return v;
}
}  // namespace

TEST_CASE("the row kernel gives each row the same bits in any batch and computes the product") {
  for (auto [N, K] : {std::pair<int64_t, int64_t>{13, 37}, {64, 64}, {301, 288}, {40, 5}}) {
    const auto B = randoms(static_cast<size_t>(N * K), 1);
    const auto row = randoms(static_cast<size_t>(K), 2);
    const auto c0 = randoms(static_cast<size_t>(N), 3);  // prior C for beta = 1
    for (float beta : {0.0f, 1.0f}) {
      std::vector<float> alone(c0);
      row_invariant_gemm_nt<float>(1, N, K, 0.5f, row.data(), B.data(), beta, alone.data());
      // Reference in double.
      for (int64_t n = 0; n < N; ++n) {
        double ref = 0;
        for (int64_t k = 0; k < K; ++k) ref += static_cast<double>(row[k]) * B[n * K + k];
        ref = 0.5 * ref + beta * c0[n];
        CHECK(alone[n] == Approx(ref).margin(1e-4));
      }
      for (int64_t M : {2, 3, 4, 5, 8, 9, 33})
        for (int64_t at : {int64_t(0), M / 2, M - 1}) {
          auto A = randoms(static_cast<size_t>(M * K), 10 + M + at);
          std::memcpy(A.data() + at * K, row.data(), sizeof(float) * K);
          std::vector<float> C(static_cast<size_t>(M * N));
          for (int64_t m = 0; m < M; ++m) std::memcpy(C.data() + m * N, c0.data(), sizeof(float) * N);
          row_invariant_gemm_nt<float>(M, N, K, 0.5f, A.data(), B.data(), beta, C.data());
          CHECK(std::memcmp(C.data() + at * N, alone.data(), sizeof(float) * N) == 0);
        }
    }
  }
}

TEST_CASE("the row kernel's plain-loop path (double) is row-invariant too") {
  const int64_t N = 19, K = 45;
  std::vector<double> B(N * K), A(7 * K), one(N), many(7 * N);
  wb::llama::Rng rng(5);
  for (auto& x : B) x = rng.normal();
  for (auto& x : A) x = rng.normal();
  row_invariant_gemm_nt<double>(1, N, K, 1.0, A.data() + 6 * K, B.data(), 0.0, one.data());
  row_invariant_gemm_nt<double>(7, N, K, 1.0, A.data(), B.data(), 0.0, many.data());
  CHECK(std::memcmp(many.data() + 6 * N, one.data(), sizeof(double) * N) == 0);
}
