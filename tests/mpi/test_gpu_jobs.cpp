// Data-parallel jobs on GPU ranks (label gpu): an sft job with device = cuda on 2 ranks
// (each on its own GPU, or sharing the one there is) trains what one GPU trains with twice the
// micro-batches, LoRA and full. The GPU trainer's gradients go through host memory over MPI
// (tests/mpi/test_gpu_data_parallel.cpp checks the trainer itself, NCCL included). The bound is
// the GPU trainer tests' 1e-4: fp32 sums in another order on the device. Skipped without a device.
#include "mpi_job_cases.h"
#include "wb/llama/device.h"

namespace {
void require_gpu() {
  if (const std::string why = wb::llama::cuda_unavailable(); !why.empty()) WB_SKIP(why.c_str());
}
}  // namespace

TEST_CASE("a LoRA sft job on 2 GPU ranks trains the adapter one GPU trains with twice the micro-batches", "[mpi][gpu]") {
  require_gpu();
  same_as_one_process("lora", 2, 2, "cuda", 1e-4);
}

TEST_CASE("a full sft job on 2 GPU ranks trains the model one GPU trains with twice the micro-batches", "[mpi][gpu]") {
  require_gpu();
  same_as_one_process("full", 2, 2, "cuda", 1e-4);
}
