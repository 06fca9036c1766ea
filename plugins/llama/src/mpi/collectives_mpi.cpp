#include "wb/llama/collectives_mpi.h"

#include <mpi.h>

#include <climits>
#include <mutex>

namespace wb::llama {
namespace {

std::string mpi_message(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(code, text, &len) != MPI_SUCCESS) return "MPI error " + std::to_string(code);
  return std::string(text, static_cast<std::size_t>(len));
}

void check(int code, const char* what) {
  if (code != MPI_SUCCESS) throw CollectiveError(std::string("MPI ") + what + ": " + mpi_message(code));
}

// MPI counts are int: large buffers go in pieces.
constexpr std::size_t kMaxCount = INT_MAX / 2;

std::mutex g_mu;
int g_users = 0;
bool g_we_initialised = false;

class Mpi final : public Collectives {
 public:
  Mpi() {
    std::lock_guard<std::mutex> lock(g_mu);
    int initialised = 0;
    check(MPI_Initialized(&initialised), "Initialized");
    if (!initialised) {
      int provided = 0;
      check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "Init_thread");
      g_we_initialised = true;
    }
    // Errors come back as codes (turned into exceptions) instead of aborting inside MPI.
    check(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN), "Comm_set_errhandler");
    check(MPI_Comm_rank(MPI_COMM_WORLD, &rank_), "Comm_rank");
    check(MPI_Comm_size(MPI_COMM_WORLD, &world_), "Comm_size");
    ++g_users;
  }
  ~Mpi() override {
    std::lock_guard<std::mutex> lock(g_mu);
    if (--g_users == 0 && g_we_initialised) {
      int finalized = 0;
      MPI_Finalized(&finalized);
      if (!finalized) MPI_Finalize();
      g_we_initialised = false;
    }
  }
  int rank() const override { return rank_; }
  int world() const override { return world_; }
  std::string backend() const override { return "mpi"; }
  bool on_device() const override { return false; }

  void all_reduce(float* data, std::size_t n, ReduceOp op) override {
    reduce(data, n, MPI_FLOAT, "Allreduce(float)");
    if (op == ReduceOp::kAverage && world_ > 1)
      for (std::size_t i = 0; i < n; ++i) data[i] /= static_cast<float>(world_);
  }
  void all_reduce(double* data, std::size_t n, ReduceOp op) override {
    reduce(data, n, MPI_DOUBLE, "Allreduce(double)");
    if (op == ReduceOp::kAverage && world_ > 1)
      for (std::size_t i = 0; i < n; ++i) data[i] /= static_cast<double>(world_);
  }
  void broadcast(void* data, std::size_t bytes, int root) override {
    if (root < 0 || root >= world_)
      throw CollectiveError("broadcast: root " + std::to_string(root) + " is not a rank of a world of " +
                            std::to_string(world_));
    auto* p = static_cast<char*>(data);
    for (std::size_t off = 0; off < bytes; off += kMaxCount) {
      const std::size_t part = std::min(kMaxCount, bytes - off);
      check(MPI_Bcast(p + off, static_cast<int>(part), MPI_BYTE, root, MPI_COMM_WORLD), "Bcast");
    }
  }
  void barrier() override { check(MPI_Barrier(MPI_COMM_WORLD), "Barrier"); }

 private:
  template <class T>
  void reduce(T* data, std::size_t n, MPI_Datatype type, const char* what) {
    if (world_ == 1) return;
    for (std::size_t off = 0; off < n; off += kMaxCount) {
      const std::size_t part = std::min(kMaxCount, n - off);
      check(MPI_Allreduce(MPI_IN_PLACE, data + off, static_cast<int>(part), type, MPI_SUM, MPI_COMM_WORLD), what);
    }
  }

  int rank_ = 0;
  int world_ = 1;
};

}  // namespace

std::unique_ptr<Collectives> mpi_collectives() { return std::make_unique<Mpi>(); }

}  // namespace wb::llama
