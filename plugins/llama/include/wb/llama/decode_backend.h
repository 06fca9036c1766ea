// decode_backend.h — batched incremental decoding on a device, behind one interface: the CPU
// (llama::Decoder, decode.h) or the GPU (gpu::GpuDecoder over a GpuLlama converted once from the
// CPU model). A server's loop (queueing, admission, continuous batching, prefill chunking,
// cancellation) is the same for both; it opens a sequence per request and runs passes here.
//
//   auto b = llama::make_decode_backend(device, model, {.batch_invariant = true});
//   auto seq = b->open(max_tokens, {&lora, device_copy, "name"}, scale);   // a KV cache
//   b->forward({seq.get(), ...}, feeds, logits, /*decode=*/true);          // logits [S, V], host
//
// Sampling stays with the caller, on the host, whatever the backend. Everything here runs on the
// caller's decode thread, except the adapter upload (adapter_upload()), which may run anywhere.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "wb/llama/device.h"
#include "wb/llama/lora.h"
#include "wb/llama/model.h"

namespace wb::llama {

// A backend's own copy of an adapter (the GPU's device matrices), owned by whoever keeps the
// host adapter (e.g. a server's adapter registry entry) and freed with it.
class DeviceAdapter {
 public:
  virtual ~DeviceAdapter() = default;
  virtual int64_t bytes() const = 0;  // device bytes
};

// Builds a backend's copy of a freshly read adapter; throws on failure (e.g. out of device memory).
using AdapterUpload = std::function<std::unique_ptr<DeviceAdapter>(const LoraAdapter<float>&)>;

// The adapter a sequence decodes with: the host tensors and, for a backend with an AdapterUpload,
// the copy it made of them (both must outlive the sequence). lora null: the base model alone.
struct AdapterRef {
  const LoraAdapter<float>* lora = nullptr;
  const DeviceAdapter* device = nullptr;
  std::string name;  // for error messages
};

// One sequence's decode state on a backend: its KV cache, its adapter and scale.
class BackendSequence {
 public:
  virtual ~BackendSequence() = default;
  virtual int64_t length() const = 0;      // tokens in the cache
  virtual int64_t max_tokens() const = 0;  // its context limit
};

class DecodeBackend {
 public:
  virtual ~DecodeBackend() = default;
  // "cpu" or "cuda": where the passes run.
  virtual std::string device() const = 0;
  // A readable name of that device ("cpu", "NVIDIA H100 80GB HBM3").
  virtual std::string device_name() const = 0;
  // true: the step's decode rows and prompt chunks go in ONE forward (rows of any lengths; the
  // GPU, which reads every weight once per pass and promises no batch invariance). false: the
  // decode rows in one pass, each prompt chunk in a pass of its own (the CPU: a chunk's pass is
  // then the same computation whatever else runs).
  virtual bool one_pass() const { return false; }
  // The copy of an adapter this backend needs beside the host tensors, or an empty function when
  // it reads the host tensors (the CPU).
  virtual AdapterUpload adapter_upload() { return {}; }
  // A new sequence of at most max_tokens tokens, with `adapter` at `scale`. Throws when the
  // backend cannot hold another one, std::logic_error when the backend needs a device copy of the
  // adapter and adapter.device is not one of its own.
  virtual std::unique_ptr<BackendSequence> open(int64_t max_tokens, const AdapterRef& adapter, float scale) = 0;
  // A new sequence holding a copy of `from`'s cache (every token in it), with its adapter, scale
  // and max_tokens: n samples of one prompt share its prefill instead of computing it n times.
  // `from` must be one of this backend's sequences. Throws like open().
  virtual std::unique_ptr<BackendSequence> fork(const BackendSequence& from) = 0;
  // Appends feeds[i] (one token, or a prompt chunk) to seqs[i] and runs them; logits [S, V] (each
  // sequence's last new token) on the host. decode: this is the step's mixed pass (the CPU's
  // batch-invariant options apply to it); otherwise a lone prompt chunk's pass. Throws like
  // llama::Decoder::forward, with the sequences unchanged.
  virtual void forward(std::span<BackendSequence* const> seqs, const std::vector<std::vector<int32_t>>& feeds,
                       std::vector<float>& logits, bool decode) = 0;
  // Whether a single decode pass can be made batch-invariant on request (the CPU: the row
  // kernel; not the GPU, where cuBLAS picks its kernels by the batch's shape).
  virtual bool invariant_on_request() const { return false; }
  // The decode passes that follow run batch-invariant even when the backend was built without
  // batch_invariant (on: a sequence in the pass asked for it); off returns to the built option.
  // Throws std::logic_error where invariant_on_request() is false and `on` is true.
  virtual void set_invariant_passes(bool on);
};

struct DecodeBackendOptions {
  // CPU: the decode pass uses the fixed-order row kernel (batch_invariant) and BLAS calls of
  // exactly row_tile rows (0: off); prompt chunks use plain BLAS.
  bool batch_invariant = false;
  int64_t row_tile = 0;
  // GPU: the device storage, "bf16" or "fp32" (fp32 accumulation either way); KV caches for
  // max_seqs sequences of max_context tokens (0: the model's context) allocated up front.
  std::string gpu_dtype = "bf16";
  int64_t max_seqs = 1;
  int64_t max_context = 0;
};

// The backend on device.cuda's side. The CPU backend reads `model` (which must outlive it); the
// GPU backend copies the weights (the model need only live through this call). On the GPU, throws
// cuda::CudaError (an EngineError; out_of_memory when the weights and caches do not fit),
// std::invalid_argument for a bad dtype or size, EngineError(unsupported) when this build has no
// CUDA backend.
std::unique_ptr<DecodeBackend> make_decode_backend(const DeviceChoice& device, const Model<float>& model,
                                                   const DecodeBackendOptions& options);

}  // namespace wb::llama
