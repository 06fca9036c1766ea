#include "train_loop.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "wb/llama/forward.h"
#include "wb/llama/loss.h"
#include "wb/llama/workspace.h"

#ifdef WB_SFT_CUDA
#include "wb/cuda/buffer.h"
#include "wb/cuda/stream.h"
#include "wb/llama/cuda/trainer.h"
#endif

namespace wb::sft {

namespace {

size_t eval_count(const std::vector<llama::TrainBatch>& batches, int64_t limit) {
  return limit > 0 ? std::min(batches.size(), static_cast<size_t>(limit)) : batches.size();
}

class CpuLoop final : public TrainLoop {
 public:
  CpuLoop(llama::Model<float>& m, llama::DataSource& d, llama::TrainerConfig c) : m_(m), t_(m, d, std::move(c)) {}
  LoopStep step() override { return {t_.step(), true}; }
  bool finished() const override { return t_.finished(); }
  int64_t steps_done() const override { return t_.steps_done(); }
  void save(const std::filesystem::path& dir) override { t_.save(dir); }
  void load(const std::filesystem::path& dir) override { t_.load(dir); }
  void sync_model() override {}  // the Trainer updates the model in place
  double eval_loss(const std::vector<llama::TrainBatch>& batches, int64_t limit) override {
    double sum = 0;
    int64_t count = 0;
    llama::ForwardOptions opts;
    for (size_t i = 0; i < eval_count(batches, limit); ++i) {
      const auto& b = batches[i];
      llama::forward(m_, b.batch, ws_, opts);
      int64_t c = 0;
      const float loss = llama::token_cross_entropy<float>(ws_.logits.data(), b.batch.n_tokens(),
                                                           m_.config.vocab_size, b.targets, b.mask, nullptr, &c);
      sum += static_cast<double>(loss) * static_cast<double>(c);
      count += c;
    }
    return count ? sum / static_cast<double>(count) : NAN;
  }

 private:
  llama::Model<float>& m_;
  llama::Trainer t_;
  llama::Workspace<float> ws_;
};

#ifdef WB_SFT_CUDA
// One stream per job: the loop owns its Context.
class GpuLoop final : public TrainLoop {
 public:
  GpuLoop(llama::Model<float>& m, llama::DataSource& d, llama::TrainerConfig c, int64_t loss_every)
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
  // The same sum as the CPU loop's, on the trainer's device model between steps.
  double eval_loss(const std::vector<llama::TrainBatch>& batches, int64_t limit) override {
    gpu::GpuLlama<float>& g = t_.device_model();
    double sum = 0;
    int64_t count = 0;
    for (size_t i = 0; i < eval_count(batches, limit); ++i) {
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
#endif

}  // namespace

std::unique_ptr<TrainLoop> make_cpu_loop(llama::Model<float>& model, llama::DataSource& data,
                                         llama::TrainerConfig config) {
  return std::make_unique<CpuLoop>(model, data, std::move(config));
}

std::unique_ptr<TrainLoop> make_gpu_loop(llama::Model<float>& model, llama::DataSource& data,
                                         llama::TrainerConfig config, int64_t loss_every) {
#ifdef WB_SFT_CUDA
  return std::make_unique<GpuLoop>(model, data, std::move(config), loss_every);
#else
  (void)model, (void)data, (void)config, (void)loss_every;
  throw std::runtime_error("the sft plugin was built without CUDA: no GPU trainer");
#endif
}

}  // namespace wb::sft
