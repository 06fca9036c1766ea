// DecodeBackend: where the serving engine's forward passes run — the CPU (llama::Decoder,
// cpu_backend.h) or the GPU (gpu::GpuDecoder, gpu_backend.h). The engine's loop (queueing,
// admission, continuous batching, prefill chunking, cancellation, metrics) is the same for both;
// it only opens a sequence per admitted request and runs passes through this interface.
//
//   auto seq = backend.open(max_tokens, adapter, scale);     // a KV cache for one request
//   backend.forward({seq.get(), ...}, feeds, logits, /*decode=*/true);   // logits [S, V], host
//
// Sampling stays on the host, in the engine, whatever the backend (logprobs and seeded draws are
// the CPU's). Everything here runs on the engine's decode thread, except the adapter upload,
// which the registry calls on the loading thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "wb/llama/lora.h"

namespace wb::serve {

struct ResidentAdapter;

// A backend's own copy of an adapter (the GPU's device matrices), owned by the ResidentAdapter it
// belongs to and freed with it (when the last request holding that version ends).
class DeviceAdapter {
 public:
  virtual ~DeviceAdapter() = default;
  virtual int64_t bytes() const = 0;  // device bytes
};

// Builds a backend's copy of a freshly read adapter; throws on failure (e.g. out of device memory).
using AdapterUpload = std::function<std::unique_ptr<DeviceAdapter>(const llama::LoraAdapter<float>&)>;

// One request's decode state on a backend: its KV cache, its adapter and scale.
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
  // A new sequence of at most max_tokens tokens, with `adapter` (nullable; kept alive by the
  // request that owns the sequence) at `scale`. Throws when the backend cannot hold another one.
  virtual std::unique_ptr<BackendSequence> open(int64_t max_tokens, const ResidentAdapter* adapter,
                                                float scale) = 0;
  // Appends feeds[i] (one token, or a prompt chunk) to seqs[i] and runs them; logits [S, V] (each
  // sequence's last new token) on the host. decode: this is the step's mixed pass (the CPU's
  // batch-invariant options apply to it); otherwise a lone prompt chunk's pass. Throws like llama::Decoder::forward, with the
  // sequences unchanged.
  virtual void forward(std::span<BackendSequence* const> seqs, const std::vector<std::vector<int32_t>>& feeds,
                       std::vector<float>& logits, bool decode) = 0;
};

}  // namespace wb::serve
