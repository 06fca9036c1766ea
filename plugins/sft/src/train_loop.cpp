#include "train_loop.h"

#include <stdexcept>

#ifdef WB_SFT_CUDA
#include "wb/cuda/stream.h"
#include "wb/llama/cuda/trainer.h"
#endif

namespace wb::sft {

namespace {

class CpuLoop final : public TrainLoop {
 public:
  CpuLoop(llama::Model<float>& m, llama::DataSource& d, llama::TrainerConfig c) : t_(m, d, std::move(c)) {}
  LoopStep step() override { return {t_.step(), true}; }
  bool finished() const override { return t_.finished(); }
  int64_t steps_done() const override { return t_.steps_done(); }
  void save(const std::filesystem::path& dir) override { t_.save(dir); }
  void load(const std::filesystem::path& dir) override { t_.load(dir); }
  void sync_model() override {}  // the Trainer updates the model in place

 private:
  llama::Trainer t_;
};

#ifdef WB_SFT_CUDA
// One stream per job: the loop owns its Context.
class GpuLoop final : public TrainLoop {
 public:
  GpuLoop(llama::Model<float>& m, llama::DataSource& d, llama::TrainerConfig c, int64_t loss_every)
      : t_(ctx_, m, d, std::move(c), loss_every) {}
  LoopStep step() override {
    const gpu::GpuStepStats st = t_.step();
    return {st, st.loss_read};
  }
  bool finished() const override { return t_.finished(); }
  int64_t steps_done() const override { return t_.steps_done(); }
  void save(const std::filesystem::path& dir) override { t_.save(dir); }
  void load(const std::filesystem::path& dir) override { t_.load(dir); }
  void sync_model() override { t_.sync_to_host(); }

 private:
  cuda::Context ctx_;
  gpu::GpuTrainer<float> t_;
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
