// The factory of logprob_trainer.h: the GPU implementation when this build has one.
#include "wb/llama/logprob_trainer.h"

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

}  // namespace wb::llama
