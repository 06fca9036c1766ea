// The GPU side of train_loop.h: gpu::GpuTrainer behind TrainLoop.
#include <algorithm>
#include <cmath>

#include "../device_factories.h"
#include "wb/cuda/buffer.h"
#include "wb/cuda/stream.h"
#include "wb/llama/cuda/trainer.h"

namespace wb::llama::detail {

namespace {

// One stream per job: the loop owns its Context.
class GpuLoop final : public TrainLoop {
 public:
  GpuLoop(Model<float>& m, DataSource& d, TrainerConfig c, int64_t loss_every)
      : t_(ctx_, m, d, std::move(c), loss_every), loss_(1) {}
  LoopStep step() override {
    const gpu::GpuStepStats st = t_.step();
    return {st, st.loss_read};
  }
  bool finished() const override { return t_.finished(); }
  int64_t steps_done() const override { return t_.steps_done(); }
  void save(const std::filesystem::path& dir) override { t_.save(dir); }
  void load(const std::filesystem::path& dir) override { t_.load(dir); }
  void sync_model() override { t_.sync_to_host(); }
  void set_collectives(Collectives* c) override { t_.set_collectives(c); }
  // The same sum as the CPU loop's, on the trainer's device model between steps.
  double eval_loss(const std::vector<TrainBatch>& batches, int64_t limit) override {
    const size_t n = limit > 0 ? std::min(batches.size(), static_cast<size_t>(limit)) : batches.size();
    gpu::GpuLlama<float>& g = t_.device_model();
    double sum = 0;
    int64_t count = 0;
    for (size_t i = 0; i < n; ++i) {
      const auto& b = batches[i];
      g.set_batch(b.batch);
      g.forward();
      const int64_t c = g.loss_backward_async(b.targets, b.mask, loss_.data(), /*accumulate=*/false,
                                              /*backward=*/false);
      if (c == 0) continue;
      float loss = 0;
      ctx_.synchronize();
      cuda::download(&loss, loss_.data(), 1);
      sum += static_cast<double>(loss) * static_cast<double>(c);
      count += c;
    }
    return count ? sum / static_cast<double>(count) : NAN;
  }

 private:
  cuda::Context ctx_;
  gpu::GpuTrainer<float> t_;
  cuda::DeviceBuffer<float> loss_;
};

}  // namespace

std::unique_ptr<TrainLoop> make_gpu_train_loop(Model<float>& model, DataSource& data, TrainerConfig config,
                                               int64_t loss_every) {
  return std::make_unique<GpuLoop>(model, data, std::move(config), loss_every);
}

}  // namespace wb::llama::detail
