// Named model sizes.
//
//   tiny  dim 128, 4 layers, 4 heads (4 kv), hidden 352, vocab 1024, ctx 256, tied — tests and
//         the demo; set vocab_size from the tokenizer you use
//   15m   dim 288, 6 layers, 6 heads, hidden 768, vocab 32000, ctx 256, tied (llama2.c stories15M)
//   110m  dim 768, 12 layers, 12 heads, hidden 2048, vocab 32000, ctx 1024, untied (stories110M)
//   7b    Llama 2 7B: dim 4096, 32 layers, 32 heads, hidden 11008, vocab 32000, ctx 4096, untied
// All use rms_norm_eps 1e-5, rope_theta 10000, bos 1, eos 2, float32.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "wb/llama/config.h"

namespace wb::llama {

// Throws std::invalid_argument listing the known names when `name` is not one of them.
LlamaConfig preset_config(std::string_view name);
// "tiny", "15m", "110m", "7b".
std::vector<std::string> preset_names();

}  // namespace wb::llama
