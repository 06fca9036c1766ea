// CpuBackend: the serving engine's passes on the CPU, through llama::Decoder<float> over the
// resident Model<float>. The decode pass uses the batch-invariant options (batch_invariant: the
// fixed-order row kernel; row_tile: BLAS calls of exactly N rows); prompt chunks use plain BLAS.
#pragma once

#include "decode_backend.h"
#include "wb/llama/decode.h"
#include "wb/llama/model.h"

namespace wb::serve {

class CpuBackend final : public DecodeBackend {
 public:
  // model must outlive the backend.
  CpuBackend(const llama::Model<float>& model, bool batch_invariant, int64_t row_tile);

  std::string device() const override { return "cpu"; }
  std::string device_name() const override { return "cpu"; }
  std::unique_ptr<BackendSequence> open(int64_t max_tokens, const ResidentAdapter* adapter, float scale) override;
  void forward(std::span<BackendSequence* const> seqs, const std::vector<std::vector<int32_t>>& feeds,
               std::vector<float>& logits, bool decode) override;

 private:
  const llama::Model<float>& model_;
  llama::Decoder<float> decoder_;
  bool batch_invariant_;
  int64_t row_tile_;
};

}  // namespace wb::serve
