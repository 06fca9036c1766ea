// SectionTimer: a breakdown of where GPU time goes, from cudaEvents recorded between named
// sections on a stream (no synchronization until totals()). mark(name) ends the open section and
// starts `name`; totals() sums each name's elapsed time. Disabled (the default), mark() does
// nothing, so the model can keep its marks in every path. Used by `gpu_llama --profile`.
#pragma once

#include <cuda_runtime.h>

#include <map>
#include <string>
#include <vector>

#include "wb/cuda/check.h"

namespace wb::gpu {

class SectionTimer {
 public:
  SectionTimer() = default;
  ~SectionTimer() {
    for (cudaEvent_t e : pool_) cudaEventDestroy(e);
  }
  SectionTimer(const SectionTimer&) = delete;
  SectionTimer& operator=(const SectionTimer&) = delete;

  void enable(bool on) { on_ = on; }
  bool enabled() const { return on_; }

  void mark(const char* name, cudaStream_t s) {
    if (!on_) return;
    if (used_ == pool_.size()) {
      cudaEvent_t e;
      WB_CUDA_CHECK(cudaEventCreate(&e));
      pool_.push_back(e);
    }
    WB_CUDA_CHECK(cudaEventRecord(pool_[used_], s));
    names_.emplace_back(name);
    ++used_;
  }

  // Milliseconds per section name (the last mark closes the previous section and opens one that
  // totals() ignores); synchronizes on the last event and forgets the marks.
  std::map<std::string, double> totals() {
    std::map<std::string, double> out;
    if (used_ == 0) return out;
    WB_CUDA_CHECK(cudaEventSynchronize(pool_[used_ - 1]));
    for (size_t i = 0; i + 1 < used_; ++i) {
      float ms = 0.0f;
      WB_CUDA_CHECK(cudaEventElapsedTime(&ms, pool_[i], pool_[i + 1]));
      out[names_[i]] += ms;
    }
    used_ = 0;
    names_.clear();
    return out;
  }

 private:
  bool on_ = false;
  std::vector<cudaEvent_t> pool_;
  std::vector<std::string> names_;
  size_t used_ = 0;
};

}  // namespace wb::gpu
