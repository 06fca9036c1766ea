// Resume: N steps uninterrupted vs K steps, checkpoint, then a fresh model / data source /
// trainer built from nothing but the checkpoint running N-K steps. Every loss must match bit
// for bit, for each trainable set (LoRA with dropout + accumulation, full, head + ranking).
#include <catch2/catch.hpp>

#include <cstring>

#include "runtime_test_util.h"
#include "wb/llama/checkpoint.h"
#include "wb/llama/model.h"
#include "wb/llama/trainer.h"

using namespace wb::llama;
using namespace wb::llama::testing;

namespace {

enum class Kind { kLora, kFull, kHead };

struct Setup {
  LlamaConfig c = small_config();
  Kind kind;
  explicit Setup(Kind k) : kind(k) {}

  Model<float> model() const {
    Model<float> m = Model<float>::random(c, 31);
    LoraConfig lc;
    lc.r = 4;
    lc.lora_alpha = 8;
    lc.lora_dropout = 0.1;  // exercises the RNG state
    lc.target_modules = {LoraModule::Q, LoraModule::V, LoraModule::Down};
    if (kind == Kind::kLora) {
      m.lora = LoraAdapter<float>::init(c, lc, 32);
      m.trainable.lora = true;
    } else if (kind == Kind::kFull) {
      m.trainable.full = true;
    } else {
      m.lora = LoraAdapter<float>::init(c, lc, 32);
      m.head = ScalarHead<float>::random(c.hidden_size, 33);
      m.trainable.lora = m.trainable.head = true;
    }
    return m;
  }
  std::vector<TrainBatch> batches() const {
    return kind == Kind::kHead ? ranking_batches(c, 3, 2, 8, 34) : lm_batches(c, 3, 2, 12, 34, 3);
  }
  TrainerConfig cfg(int64_t total) const {
    TrainerConfig tc;
    tc.loss = kind == Kind::kHead ? LossKind::kRanking : LossKind::kTokenCE;
    tc.total_steps = total;
    tc.micro_batches = kind == Kind::kLora ? 2 : 1;
    tc.schedule.lr = 5e-3;
    tc.schedule.min_lr = 5e-4;
    tc.schedule.warmup_steps = 2;
    tc.adamw.weight_decay = 0.1;
    tc.adamw.max_grad_norm = 0.5;
    tc.seed = 35;
    return tc;
  }
};

std::vector<float> losses_of(Trainer& t, int64_t steps) {
  std::vector<float> out;
  for (int64_t i = 0; i < steps; ++i) out.push_back(static_cast<float>(t.step().loss));
  return out;
}

void check_resume(Kind kind) {
  const Setup s(kind);
  const int64_t N = 6, K = 3;
  TempDir tmp("resume");

  Model<float> m_full = s.model();
  InMemoryDataSource d_full(s.batches());
  Trainer t_full(m_full, d_full, s.cfg(N));
  const std::vector<float> expect = losses_of(t_full, N);

  {
    Model<float> m = s.model();
    InMemoryDataSource d(s.batches());
    Trainer t(m, d, s.cfg(N));
    const auto head = losses_of(t, K);
    REQUIRE(std::memcmp(head.data(), expect.data(), K * sizeof(float)) == 0);
    t.save(tmp.path() / "ckpt");
  }
  Model<float> m = s.model();  // fresh: the base from its seed, trainables re-initialized
  InMemoryDataSource d(s.batches());
  Trainer t(m, d, s.cfg(N));
  t.load(tmp.path() / "ckpt");
  CHECK(t.steps_done() == K);
  const auto tail = losses_of(t, N - K);
  for (int64_t i = 0; i < N - K; ++i) {
    INFO("step " << K + i + 1 << ": resumed " << tail[i] << " vs uninterrupted " << expect[K + i]);
    CHECK(std::memcmp(&tail[i], &expect[K + i], sizeof(float)) == 0);
  }
  CHECK(t.finished());
  // The final trainable weights match too.
  auto pa = parameters(m, *std::make_unique<Gradients<float>>(Gradients<float>::for_model(m)));
  Gradients<float> g_full = Gradients<float>::for_model(m_full);
  auto pb = parameters(m_full, g_full);
  REQUIRE(pa.size() == pb.size());
  for (size_t i = 0; i < pa.size(); ++i)
    CHECK(std::memcmp(pa[i].value, pb[i].value, sizeof(float) * pa[i].numel) == 0);
}

}  // namespace

TEST_CASE("resume LoRA (dropout, accumulation) is bit-identical", "[resume]") { check_resume(Kind::kLora); }
TEST_CASE("resume full training is bit-identical", "[resume]") { check_resume(Kind::kFull); }
TEST_CASE("resume head + ranking loss is bit-identical", "[resume]") { check_resume(Kind::kHead); }

TEST_CASE("loading a checkpoint of another trainable set fails and changes nothing", "[resume]") {
  TempDir tmp("resume-bad");
  const Setup lora(Kind::kLora), full(Kind::kFull);
  {
    Model<float> m = lora.model();
    InMemoryDataSource d(lora.batches());
    Trainer t(m, d, lora.cfg(4));
    t.step();
    t.save(tmp.path() / "ckpt");
  }
  Model<float> m = full.model();
  InMemoryDataSource d(full.batches());
  Trainer t(m, d, full.cfg(4));
  const std::vector<float> before = m.weights.embed_tokens.data;
  CHECK_THROWS_AS(t.load(tmp.path() / "ckpt"), CheckpointError);
  CHECK(t.steps_done() == 0);
  CHECK(m.weights.embed_tokens.data == before);
  CHECK(d.position() == nlohmann::json({{"epoch", 0}, {"index", 0}}));
  CHECK_THROWS_AS(t.load(tmp.path() / "nothing-here"), CheckpointError);
}

TEST_CASE("run() checkpoints periodically and on cancellation, resuming finishes the same curve", "[resume]") {
  const Setup s(Kind::kLora);
  TempDir tmp("resume-run");
  Model<float> m_ref = s.model();
  InMemoryDataSource d_ref(s.batches());
  Trainer t_ref(m_ref, d_ref, s.cfg(6));
  const std::vector<float> expect = losses_of(t_ref, 6);

  std::vector<float> seen;
  {
    Model<float> m = s.model();
    InMemoryDataSource d(s.batches());
    TrainerConfig tc = s.cfg(6);
    tc.checkpoint_every = 2;
    tc.checkpoint_dir = tmp.path() / "ckpt";
    Trainer t(m, d, tc);
    t.on_step = [&](const StepStats& st) { seen.push_back(static_cast<float>(st.loss)); };
    t.cancelled = [&] { return seen.size() == 3; };
    CHECK(t.run() == 3);  // cancelled after step 3: the final save holds step 3
  }
  CHECK(load_checkpoint(tmp.path() / "ckpt").step == 3);
  Model<float> m = s.model();
  InMemoryDataSource d(s.batches());
  TrainerConfig tc = s.cfg(6);
  tc.checkpoint_every = 2;
  tc.checkpoint_dir = tmp.path() / "ckpt";
  Trainer t(m, d, tc);
  t.load(tc.checkpoint_dir);
  t.on_step = [&](const StepStats& st) { seen.push_back(static_cast<float>(st.loss)); };
  CHECK(t.run() == 6);
  REQUIRE(seen.size() == 6);
  CHECK(std::memcmp(seen.data(), expect.data(), 6 * sizeof(float)) == 0);
  CHECK(load_checkpoint(tmp.path() / "ckpt").step == 6);
}
