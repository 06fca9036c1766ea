// Backward pass, written out by hand layer by layer (the exact reverse of forward.h), adding
// gradients into a Gradients<T> for the model's trainable set only. Frozen parts still pass
// gradient through to earlier layers (LoRA needs it) but get no weight gradient.
#pragma once

#include <type_traits>

#include "wb/llama/model.h"
#include "wb/llama/workspace.h"

namespace wb::llama {

// Must follow forward(m, batch, ws, opts with for_backward = true) on the same model and ws.
// dlogits: dLoss/dlogits [N, V] or null (no LM loss); dhead: dLoss/dhead_values [S] or null.
// Adds into grads (call grads.zero() once per optimizer step). The workspace's activations are
// consumed (backward may overwrite them). Throws std::logic_error when ws holds no forward
// kept for backward, or std::invalid_argument when a needed gradient source is missing.
template <typename T>
void backward(const Model<T>& m, Workspace<T>& ws, const std::type_identity_t<T>* dlogits,
              const std::type_identity_t<T>* dhead,
              Gradients<T>& grads);

// As backward, with a gradient on the final normed hidden states of every row given directly:
// dhidden [N, D] is added to what dlogits and dhead contribute (either may be null). For heads
// read at every token rather than at each sequence's last one, such as a PPO value head: the
// caller computes that head and its own weight gradient from ws.hidden. Throws as backward does,
// and std::invalid_argument when dhidden is null.
template <typename T>
void backward_hidden(const Model<T>& m, Workspace<T>& ws, const std::type_identity_t<T>* dlogits,
                     const std::type_identity_t<T>* dhead, const std::type_identity_t<T>* dhidden,
                     Gradients<T>& grads);

}  // namespace wb::llama
