#include "wb/llama/merge.h"

#include <unistd.h>

#include <stdexcept>

#include "wb/llama/adapter_io.h"
#include "wb/llama/model_io.h"

namespace wb::llama {
namespace fs = std::filesystem;

template <typename T>
void merge_lora_into(Weights<T>& w, const LlamaConfig& c, const LoraAdapter<T>& adapter) {
  adapter.check_shapes(c);
  const double scale = adapter.config.scale();
  const int64_t r = adapter.config.r;
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    for (LoraModule m : all_lora_modules()) {
      const auto* p = adapter.pair(l, m);
      if (!p || !p->present()) continue;
      Tensor<T>& W = w.layers[static_cast<size_t>(l)].linear(m);
      const int64_t out = W.shape[0], in = W.shape[1];
      const T* A = p->A.ptr();  // [r, in]
      const T* B = p->B.ptr();  // [out, r]
      // W[o, i] += scale * sum_k B[o, k] A[k, i]
#pragma omp parallel for schedule(static)
      for (int64_t o = 0; o < out; ++o) {
        T* row = W.ptr() + o * in;
        for (int64_t i = 0; i < in; ++i) {
          double s = 0;
          for (int64_t k = 0; k < r; ++k) s += static_cast<double>(B[o * r + k]) * static_cast<double>(A[k * in + i]);
          row[i] = static_cast<T>(static_cast<double>(row[i]) + scale * s);
        }
      }
    }
  }
}

template void merge_lora_into<float>(Weights<float>&, const LlamaConfig&, const LoraAdapter<float>&);
template void merge_lora_into<double>(Weights<double>&, const LlamaConfig&, const LoraAdapter<double>&);

void merge_adapter_to_directory(const fs::path& model_dir, const fs::path& adapter_dir, const fs::path& out_dir,
                                DType store_as) {
  if (fs::exists(out_dir)) throw std::invalid_argument("merge: output " + out_dir.string() + " already exists");
  Model<float> m = load_model<float>(model_dir);
  const LoraAdapter<float> a = load_adapter(adapter_dir, m.config);
  merge_lora_into(m.weights, m.config, a);
  const fs::path tmp = out_dir.string() + ".tmp." + std::to_string(::getpid());
  std::error_code ec;
  fs::remove_all(tmp, ec);
  try {
    save_model(tmp, m, store_as);
    if (fs::is_regular_file(model_dir / "tokenizer.model"))
      fs::copy_file(model_dir / "tokenizer.model", tmp / "tokenizer.model");
    fs::rename(tmp, out_dir);
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
}

}  // namespace wb::llama
