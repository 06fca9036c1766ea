#include "wb/llama/train_loop.h"

#include <cmath>

#include "device_factories.h"
#include "wb/llama/forward.h"
#include "wb/llama/loss.h"
#include "wb/llama/workspace.h"

namespace wb::llama {

void TrainLoop::set_collectives(Collectives* c) {
  if (c && c->world() > 1)
    throw EngineError(ErrorKind::unsupported, "this training loop does not run data-parallel (world > 1)");
}

namespace {

class CpuLoop final : public TrainLoop {
 public:
  CpuLoop(Model<float>& m, DataSource& d, TrainerConfig c) : m_(m), t_(m, d, std::move(c)) {}
  LoopStep step() override { return {t_.step(), true}; }
  bool finished() const override { return t_.finished(); }
  int64_t steps_done() const override { return t_.steps_done(); }
  void save(const std::filesystem::path& dir) override { t_.save(dir); }
  void load(const std::filesystem::path& dir) override { t_.load(dir); }
  void sync_model() override {}  // the Trainer updates the model in place
  void set_collectives(Collectives* c) override { t_.set_collectives(c); }
  double eval_loss(const std::vector<TrainBatch>& batches, int64_t limit) override {
    const size_t n = limit > 0 ? std::min(batches.size(), static_cast<size_t>(limit)) : batches.size();
    double sum = 0;
    int64_t count = 0;
    ForwardOptions opts;
    for (size_t i = 0; i < n; ++i) {
      const auto& b = batches[i];
      forward(m_, b.batch, ws_, opts);
      int64_t c = 0;
      const float loss = token_cross_entropy<float>(ws_.logits.data(), b.batch.n_tokens(), m_.config.vocab_size,
                                                    b.targets, b.mask, nullptr, &c);
      sum += static_cast<double>(loss) * static_cast<double>(c);
      count += c;
    }
    return count ? sum / static_cast<double>(count) : NAN;
  }

 private:
  Model<float>& m_;
  Trainer t_;
  Workspace<float> ws_;
};

}  // namespace

std::unique_ptr<TrainLoop> make_train_loop(const DeviceChoice& device, Model<float>& model, DataSource& data,
                                           TrainerConfig config, int64_t loss_every) {
  if (!device.cuda) return std::make_unique<CpuLoop>(model, data, std::move(config));
#if WB_HAVE_CUDA
  return detail::make_gpu_train_loop(model, data, std::move(config), loss_every);
#else
  (void)loss_every;
  throw EngineError(ErrorKind::unsupported, "device cuda: " + cuda_unavailable());
#endif
}

}  // namespace wb::llama
