// PpoTrainer checkpoints on a tiny model built by the test: a trainer saved after two iterations
// and loaded into a fresh trainer continues exactly as the uninterrupted one (policy, value
// adapter and head bit for bit after four iterations); a checkpoint of another shape is refused
// with nothing changed.
#include <catch2/catch.hpp>

#include <filesystem>

#include <unistd.h>

#include "rlhf_tiny.h"
#include "wb/llama/checkpoint.h"
#include "wb/rlhf/ppo_step.h"

using namespace rlhftest;
using namespace wb::rlhf;
namespace fs = std::filesystem;

namespace {

PpoConfig small_config() {
  PpoConfig c;
  c.sampling.samples_per_prompt = 2;
  c.sampling.max_new_tokens = 4;
  c.sampling.seed = 11;
  c.mini_batch = 2;
  c.lr = 1e-2;
  c.value_lr = 1e-2;
  return c;
}

std::vector<float> flat(const LoraAdapter<float>& a) {
  std::vector<float> out;
  a.for_each([&](const std::string&, const Tensor<float>& t) { out.insert(out.end(), t.data.begin(), t.data.end()); });
  return out;
}

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("wb_ppo_ckpt_" + std::to_string(::getpid()));
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
};

}  // namespace

TEST_CASE("PPO checkpoint: a trainer loaded after two iterations ends equal to the uninterrupted one", "[ppo]") {
  Model<float> base = tiny_base(301);
  const auto help = head_preferring(base, 5, 2.0);
  const auto help_lora = moved_lora(base.config, 302, 0.05);
  const auto safe = constant_head(base.config.hidden_size, 4.0f);
  const auto ps = prompts(3, 3, base.config.vocab_size, 303);
  const PpoModels models{nullptr, {&help_lora, &help}, {nullptr, &safe}};
  auto policy = [&] { return LoraAdapter<float>::init(base.config, small_lora(), 304); };
  TempDir tmp;

  PpoTrainer straight(base, models, policy(), small_config());
  for (int i = 0; i < 4; ++i) straight.iterate(ps);

  {
    PpoTrainer first(base, models, policy(), small_config());
    first.iterate(ps);
    first.iterate(ps);
    first.save(tmp.path / "ckpt");
  }
  PpoTrainer resumed(base, models, policy(), small_config());
  resumed.load(tmp.path / "ckpt");
  CHECK(resumed.iterations() == 2);
  resumed.iterate(ps);
  const PpoIterationStats last = resumed.iterate(ps);
  CHECK(last.iteration == 4);
  CHECK(flat(resumed.policy()) == flat(straight.policy()));
  CHECK(flat(resumed.value_adapter()) == flat(straight.value_adapter()));
  CHECK(resumed.value_head().weight.data == straight.value_head().weight.data);
  CHECK(resumed.value_head().bias.data == straight.value_head().bias.data);

  // A trainer of another policy rank refuses the checkpoint and keeps its state.
  PpoTrainer other(base, models, LoraAdapter<float>::init(base.config, small_lora(4), 304), small_config());
  const auto before = flat(other.policy());
  CHECK_THROWS_AS(other.load(tmp.path / "ckpt"), wb::llama::CheckpointError);
  CHECK(other.iterations() == 0);
  CHECK(flat(other.policy()) == before);
}
