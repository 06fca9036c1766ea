// GpuDecoder<T>: the GPU twin of llama::Decoder (wb/llama/decode.h) for serving — batched
// incremental inference over per-sequence KV caches, with a LoRA adapter (and scale) per sequence.
//
//   gpu::GpuLlama<float> model(ctx, cpu_model);            // weights converted once
//   gpu::GpuDecoder<float> dec(model, /*max_seqs=*/8, /*max_context=*/2048);
//   gpu::GpuDecodeSequence<float> a(dec), b(dec);          // each takes a KV-cache slot
//   b.adapter = &gpu_adapter; b.adapter_scale = 0.5f;
//   dec.forward({&a, &b}, {prompt_chunk, {tok_b}}, logits); // logits [2, V] on the host
//
// The KV caches of all sequences are allocated once, at construction: max_seqs slots of
// max_context rows per layer (keys and values, post-RoPE, storage T). A GpuDecodeSequence holds
// one slot for its lifetime (RAII: acquired in its constructor, released in its destructor) and
// its length.
//
// forward() runs every new token of every sequence — decode rows and prompt chunks alike — in
// ONE pass: the rows are packed sequence after sequence, each base linear is one product over all
// rows (the decode GEMV of wb/cuda/gemv.h at 1-4 rows, cuBLAS above), and each adapter adds its
// low-rank product on its own rows (adjacent sequences
// with the same adapter and scale form one segment, as the CPU Decoder does; lora_forward per
// segment). Attention appends each row's k/v into its sequence's slot (kv_cache_append with a
// per-row slot index), then attention_decode gives each row one query over its sequence's cache
// with length = its position + 1: causal within a chunk, and any mix of sequences in any slots.
// Then the final norm and the LM head run only on the rows whose logits are wanted, and those
// logits are copied to a host std::vector<float> (sampling stays with the caller). The pass is
// synchronous: forward() returns when the logits are on the host.
//
// The math is the CPU engine's (embedding, RMSNorm, q/k/v, RoPE, attention, o, SwiGLU MLP, LM
// head; LoRA y += scale_seq * alpha/r * B (A x)) with storage T and fp32 accumulation, so in fp32
// the logits match llama::Decoder's up to summation order. Not batch-invariant: cuBLAS picks its
// kernels by shape (and the GEMV takes 1-4 rows), so a row's last bits can depend on the rows
// beside it.
#pragma once

#include <cstdint>
#include <mutex>
#include <span>
#include <vector>

#include "wb/cuda/buffer.h"
#include "wb/llama/config.h"
#include "wb/llama/cuda/gpu_adapter.h"
#include "wb/llama/cuda/gpu_llama.h"

namespace wb::gpu {

template <typename T>
class GpuDecoder;

// One sequence's state: a KV-cache slot of its decoder, its length, its adapter and scale.
// Neither copyable nor movable (the decoder's slot table names it by slot only).
template <typename T>
class GpuDecodeSequence {
 public:
  // Takes a free slot. max_tokens 0: the decoder's max_context. Throws std::length_error when
  // every slot is taken, std::invalid_argument when max_tokens exceeds the decoder's max_context.
  explicit GpuDecodeSequence(GpuDecoder<T>& decoder, int64_t max_tokens = 0);
  ~GpuDecodeSequence();
  GpuDecodeSequence(const GpuDecodeSequence&) = delete;
  GpuDecodeSequence& operator=(const GpuDecodeSequence&) = delete;

  int64_t length() const { return length_; }
  int64_t max_tokens() const { return max_tokens_; }
  int32_t slot() const { return slot_; }
  // Forgets the tokens (keeps the slot), e.g. to reuse the sequence for a new prompt.
  void clear() { length_ = 0; }

  const GpuAdapter<T>* adapter = nullptr;  // must outlive its use in forward(); null: base model
  float adapter_scale = 1.0f;              // multiplies the adapter's alpha/r

 private:
  friend class GpuDecoder<T>;
  GpuDecoder<T>& decoder_;
  int32_t slot_ = -1;
  int64_t max_tokens_ = 0;
  int64_t length_ = 0;
};

template <typename T>
class GpuDecoder {
 public:
  // model must outlive the decoder; its weights are read, never changed. max_context 0: the
  // model's context (max_position_embeddings). Allocates the caches:
  // 2 * layers * max_seqs * max_context * kv_dim * sizeof(T) bytes (cache_bytes()).
  // Throws std::invalid_argument for max_seqs < 1, a max_context outside [1, the model's] or
  // longer than decode attention's shared-memory scores hold on this GPU (about 56K tokens on
  // sm_90, 40K on sm_80), cuda::CudaError when the caches do not fit in device memory.
  GpuDecoder(GpuLlama<T>& model, int64_t max_seqs, int64_t max_context = 0);

  // Appends tokens[i] (one or more ids) to seqs[i] and runs them in one pass (see above).
  // all_positions = false: logits [S, V] for the last new token of each sequence;
  // true: logits [sum of new tokens, V], sequence after sequence.
  // Throws std::invalid_argument (no sequences, a size mismatch, an empty token list, an id
  // outside the vocabulary, a sequence of another decoder or twice in the batch, an adapter built
  // for another model shape) or std::length_error (a sequence would pass its max_tokens); nothing
  // is changed then. A CUDA failure throws cuda::CudaError and leaves the lengths unchanged.
  void forward(std::span<GpuDecodeSequence<T>* const> seqs,
               const std::vector<std::vector<int32_t>>& tokens, std::vector<float>& logits,
               bool all_positions = false);

  // Copies from's cached rows (every layer, keys and values) into to's slot and gives `to` the
  // same length: a fork of a prefilled prompt. Synchronous. Throws std::invalid_argument when
  // either is another decoder's or to's max_tokens is below from's length, cuda::CudaError.
  void copy_sequence(const GpuDecodeSequence<T>& from, GpuDecodeSequence<T>& to);

  const llama::LlamaConfig& config() const { return c_; }
  int64_t max_seqs() const { return max_seqs_; }
  int64_t max_context() const { return max_context_; }
  int64_t free_slots() const;
  int64_t cache_bytes() const;

 private:
  friend class GpuDecodeSequence<T>;
  int32_t acquire_slot();          // throws std::length_error when none is free
  void release_slot(int32_t slot) noexcept;
  void reserve_rows(int64_t n, int64_t out_rows, int64_t max_rank);  // grows the work buffers

  GpuLlama<T>& m_;
  llama::LlamaConfig c_;
  int64_t max_seqs_ = 0, max_context_ = 0;
  std::vector<cuda::DeviceBuffer<T>> k_cache_, v_cache_;  // per layer [max_seqs, max_context, kv_dim]

  mutable std::mutex slots_mu_;  // sequences may be created and dropped on any thread
  std::vector<int32_t> free_;    // free slots (a stack)

  // Work buffers for n rows (grown, never shrunk).
  int64_t cap_rows_ = 0, cap_out_ = 0, cap_rank_ = 0;
  cuda::DeviceBuffer<T> x_, xn_, q_, k_, v_, att_, g_, u_, h_, lora_t_, xo_, logits_;
  cuda::DeviceBuffer<float> rstd_, rope_cs_;
  // [ids | positions | slots | lengths | out_rows], one upload per pass.
  cuda::DeviceBuffer<int32_t> ints_;
  std::vector<int32_t> ints_host_;
};

}  // namespace wb::gpu
