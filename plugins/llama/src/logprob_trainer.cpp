// The factories of logprob_trainer.h and actor_critic_trainer.h: the GPU implementations when this
// build has one.
#include "wb/llama/logprob_trainer.h"
#include "wb/llama/actor_critic_trainer.h"

#include "device_factories.h"
#include "wb/llama/device.h"

namespace wb::llama {

std::unique_ptr<LogprobTrainer> make_gpu_logprob_trainer(const Model<float>& model,
                                                         const LoraAdapter<float>* reference) {
#if WB_HAVE_CUDA
  return detail::make_gpu_logprob_trainer(model, reference);
#else
  (void)model;
  (void)reference;
  throw EngineError(ErrorKind::unsupported, cuda_unavailable());
#endif
}

std::unique_ptr<ActorCriticTrainer> make_gpu_actor_critic(const Model<float>& base, const LoraAdapter<float>& policy,
                                                          const LoraAdapter<float>* reference,
                                                          const LoraAdapter<float>& value,
                                                          const ScalarHead<float>& value_head) {
#if WB_HAVE_CUDA
  return detail::make_gpu_actor_critic(base, policy, reference, value, value_head);
#else
  (void)base;
  (void)policy;
  (void)reference;
  (void)value;
  (void)value_head;
  throw EngineError(ErrorKind::unsupported, cuda_unavailable());
#endif
}

}  // namespace wb::llama
