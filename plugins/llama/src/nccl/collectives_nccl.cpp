#include "wb/llama/collectives_nccl.h"

#include <cuda_runtime.h>
#include <nccl.h>

namespace wb::llama {
namespace {

void check_cuda(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw CollectiveError(std::string("CUDA ") + what + ": " + cudaGetErrorString(e));
}
void check_nccl(ncclResult_t r, const char* what) {
  if (r != ncclSuccess) throw CollectiveError(std::string("NCCL ") + what + ": " + ncclGetErrorString(r));
}

struct CommDeleter {
  void operator()(ncclComm* c) const { ncclCommDestroy(c); }
};
struct StreamDeleter {
  void operator()(CUstream_st* s) const { cudaStreamDestroy(s); }
};
struct EventDeleter {
  void operator()(CUevent_st* e) const { cudaEventDestroy(e); }
};

class Nccl final : public Collectives {
 public:
  Nccl(Collectives& bootstrap, int device) : bootstrap_(bootstrap), rank_(bootstrap.rank()), world_(bootstrap.world()) {
    if (bootstrap.on_device()) throw CollectiveError("nccl: the bootstrap must work on host buffers (MPI)");
    check_cuda(cudaSetDevice(device), "SetDevice");
    device_ = device;
    ncclUniqueId id{};
    if (rank_ == 0) check_nccl(ncclGetUniqueId(&id), "GetUniqueId");
    bootstrap_.broadcast(&id, sizeof id, 0);
    ncclComm_t comm = nullptr;
    check_nccl(ncclCommInitRank(&comm, world_, id, rank_), "CommInitRank");
    comm_.reset(comm);
    cudaStream_t s = nullptr;
    check_cuda(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "StreamCreate");
    stream_.reset(s);
    cudaEvent_t e = nullptr;
    check_cuda(cudaEventCreateWithFlags(&e, cudaEventDisableTiming), "EventCreate");
    event_.reset(e);
  }
  int rank() const override { return rank_; }
  int world() const override { return world_; }
  std::string backend() const override { return "nccl"; }
  bool on_device() const override { return true; }

  void all_reduce(float* data, std::size_t n, ReduceOp op) override { reduce(data, n, ncclFloat, op); }
  void all_reduce(double* data, std::size_t n, ReduceOp op) override { reduce(data, n, ncclDouble, op); }
  void broadcast(void* data, std::size_t bytes, int root) override {
    if (root < 0 || root >= world_)
      throw CollectiveError("broadcast: root " + std::to_string(root) + " is not a rank of a world of " +
                            std::to_string(world_));
    check_cuda(cudaSetDevice(device_), "SetDevice");
    check_nccl(ncclBroadcast(data, data, bytes, ncclChar, root, comm_.get(), stream_.get()), "Broadcast");
    check_cuda(cudaStreamSynchronize(stream_.get()), "StreamSynchronize");
  }
  void barrier() override {
    check_cuda(cudaStreamSynchronize(stream_.get()), "StreamSynchronize");
    bootstrap_.barrier();
  }

  // The caller's stream -> an event -> this backend's stream, so the reduction starts once the
  // caller's queued work (the gradient it reduces) is done, and the caller's stream runs on. One
  // event serves every call: a wait captures the event's state when it is enqueued.
  bool stream_ordered() const override { return true; }
  void all_reduce_after(float* data, std::size_t n, ReduceOp op, void* stream) override {
    check_cuda(cudaSetDevice(device_), "SetDevice");
    check_cuda(cudaEventRecord(event_.get(), static_cast<cudaStream_t>(stream)), "EventRecord");
    check_cuda(cudaStreamWaitEvent(stream_.get(), event_.get(), 0), "StreamWaitEvent");
    check_nccl(ncclAllReduce(data, data, n, ncclFloat, op == ReduceOp::kAverage ? ncclAvg : ncclSum, comm_.get(),
                             stream_.get()),
               "AllReduce");
  }
  void wait_reductions(void* stream) override {
    check_cuda(cudaSetDevice(device_), "SetDevice");
    check_cuda(cudaEventRecord(event_.get(), stream_.get()), "EventRecord");
    check_cuda(cudaStreamWaitEvent(static_cast<cudaStream_t>(stream), event_.get(), 0), "StreamWaitEvent");
  }

 private:
  void reduce(void* data, std::size_t n, ncclDataType_t type, ReduceOp op) {
    check_cuda(cudaSetDevice(device_), "SetDevice");
    check_nccl(ncclAllReduce(data, data, n, type, op == ReduceOp::kAverage ? ncclAvg : ncclSum, comm_.get(),
                             stream_.get()),
               "AllReduce");
    check_cuda(cudaStreamSynchronize(stream_.get()), "StreamSynchronize");
  }

  Collectives& bootstrap_;
  int rank_;
  int world_;
  int device_ = 0;
  std::unique_ptr<ncclComm, CommDeleter> comm_;
  std::unique_ptr<CUstream_st, StreamDeleter> stream_;
  std::unique_ptr<CUevent_st, EventDeleter> event_;
};

}  // namespace

std::unique_ptr<Collectives> nccl_collectives(Collectives& bootstrap, int device) {
  return std::make_unique<Nccl>(bootstrap, device);
}

}  // namespace wb::llama
