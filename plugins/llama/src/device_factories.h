// device_factories.h — the engine's GPU implementations behind its device-neutral interfaces
// (train_loop.h, decode_backend.h, head_scorer.h, greedy.h,
// logprob_trainer.h, actor_critic_trainer.h), defined in src/cuda/ and compiled only
// with the CUDA backend (WB_HAVE_CUDA). The public factories call these when a DeviceChoice says
// cuda; nothing outside the engine includes this header.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "wb/llama/actor_critic_trainer.h"
#include "wb/llama/decode_backend.h"
#include "wb/llama/greedy.h"
#include "wb/llama/head_scorer.h"
#include "wb/llama/logprob_trainer.h"
#include "wb/llama/train_loop.h"

namespace wb::llama::detail {

std::unique_ptr<TrainLoop> make_gpu_train_loop(Model<float>& model, DataSource& data, TrainerConfig config,
                                               int64_t loss_every);
std::unique_ptr<DecodeBackend> make_gpu_decode_backend(const Model<float>& model, const std::string& dtype,
                                                       int64_t max_seqs, int64_t max_context);
std::unique_ptr<HeadScorer> make_gpu_head_scorer(const Model<float>& base);
std::unique_ptr<LogprobTrainer> make_gpu_logprob_trainer(const Model<float>& model,
                                                         const LoraAdapter<float>* reference);
std::unique_ptr<ActorCriticTrainer> make_gpu_actor_critic(const Model<float>& base, const LoraAdapter<float>& policy,
                                                          const LoraAdapter<float>* reference,
                                                          const LoraAdapter<float>& value,
                                                          const ScalarHead<float>& value_head);
std::unique_ptr<GreedyCompleter> make_gpu_greedy(const Model<float>& model, const LoraAdapter<float>* adapter);

}  // namespace wb::llama::detail
