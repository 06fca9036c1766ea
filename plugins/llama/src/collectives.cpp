#include "wb/llama/collectives.h"

namespace wb::llama {
namespace {

class SingleProcess final : public Collectives {
 public:
  int rank() const override { return 0; }
  int world() const override { return 1; }
  std::string backend() const override { return "single"; }
  bool on_device() const override { return false; }
  void all_reduce(float*, std::size_t, ReduceOp) override {}
  void all_reduce(double*, std::size_t, ReduceOp) override {}
  void broadcast(void*, std::size_t, int root) override {
    if (root != 0) throw CollectiveError("broadcast: root " + std::to_string(root) + " is not a rank of a world of 1");
  }
  void barrier() override {}
};

}  // namespace

void Collectives::all_reduce_after(float*, std::size_t, ReduceOp, void*) {
  throw CollectiveError("all_reduce_after: the " + backend() + " backend has no stream-ordered reductions");
}
void Collectives::wait_reductions(void*) {
  throw CollectiveError("wait_reductions: the " + backend() + " backend has no stream-ordered reductions");
}

std::unique_ptr<Collectives> single_process_collectives() { return std::make_unique<SingleProcess>(); }

}  // namespace wb::llama
