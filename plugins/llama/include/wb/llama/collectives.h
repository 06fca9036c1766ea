// collectives.h — what data-parallel training needs from a collective-communication library, and
// nothing more: rank, world size, an in-place all-reduce, a broadcast and a barrier.
//
//   std::unique_ptr<Collectives> c = single_process_collectives();     // world 1, no library
//   std::unique_ptr<Collectives> c = mpi_collectives();                 // collectives_mpi.h
//   std::unique_ptr<Collectives> c = nccl_collectives(*mpi, device);    // collectives_nccl.h
//   trainer.set_collectives(c.get());                                   // trainer.h
//
// Every rank calls the same operations in the same order (collectives are matched by order, not
// by name). Buffers live where the backend works: host memory for the single-process and MPI
// backends, device memory for NCCL (on_device() says which). Failures throw CollectiveError
// naming the operation and the library's message; a rank that dies makes the others' next call
// fail (MPI aborts the job, NCCL reports an error), never return wrong data.
//
// Backends are separate libraries so that the engine itself (and every plugin linking it) needs
// no MPI or NCCL: wb_collectives_mpi when CMake finds MPI, wb_collectives_nccl when it finds
// nccl.h beside the CUDA toolkit.
#pragma once

#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>

namespace wb::llama {

struct CollectiveError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

enum class ReduceOp { kSum, kAverage };

class Collectives {
 public:
  virtual ~Collectives() = default;
  virtual int rank() const = 0;
  virtual int world() const = 0;
  // "single", "mpi" or "nccl".
  virtual std::string backend() const = 0;
  // True when buffers must be device (GPU) memory.
  virtual bool on_device() const = 0;

  // In place over `n` floats: every rank ends with the sum (or the mean) over all ranks.
  virtual void all_reduce(float* data, std::size_t n, ReduceOp op) = 0;
  // In place over `n` doubles (statistics: losses, token counts).
  virtual void all_reduce(double* data, std::size_t n, ReduceOp op) = 0;
  // `bytes` bytes from rank `root` to every rank.
  virtual void broadcast(void* data, std::size_t bytes, int root) = 0;
  virtual void barrier() = 0;

  // Stream-ordered reductions, for device backends (NCCL): what lets a GPU trainer reduce one
  // layer's gradients while the backward pass goes on computing the layers below it (llm.c's
  // overlap). `stream` is the caller's cudaStream_t (as void*, so this header needs no CUDA).
  //   all_reduce_after(data, n, op, stream)  enqueues the in-place all-reduce on the backend's own
  //       stream, after the work already queued on `stream`; returns at once, and `stream` is
  //       free to go on with other work (which must not write `data` until the wait below).
  //   wait_reductions(stream)  makes the work queued on `stream` from now on wait until every
  //       reduction enqueued so far is done; returns at once.
  // Every rank enqueues the same reductions in the same order. Host backends do not have them:
  // stream_ordered() is false and both throw CollectiveError (reduce with all_reduce instead).
  virtual bool stream_ordered() const { return false; }
  virtual void all_reduce_after(float* data, std::size_t n, ReduceOp op, void* stream);
  virtual void wait_reductions(void* stream);
};

// World of one: reductions and broadcasts leave the data as it is.
std::unique_ptr<Collectives> single_process_collectives();

}  // namespace wb::llama
