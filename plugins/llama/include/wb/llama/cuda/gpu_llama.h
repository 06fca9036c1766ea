// GpuLlama<T>: the engine's Llama-2 decoder on the GPU, assembled from the wb_kernels_cuda ops.
// It runs the same math as the CPU engine (forward.h / backward.h) with device storage T (bf16 or
// fp32) and fp32 accumulation:
//   prefill/forward over packed sequences (activations kept for backward), an optional scalar
//   head (reward/value models) read at each sequence's last real row, the hand-written backward
//   from the token cross-entropy or the ranking loss into any trainable set — LoRA on any of the
//   seven linears, the scalar head, every base tensor (full training) — and AdamW on fp32 master
//   weights (with T shadows the forward reads), and batched greedy decode over a per-sequence KV
//   cache.
// Weights are converted once, from a CPU Model<float>, when the object is built. Everything is
// enqueued on the Context's stream; batch inputs go through pinned staging buffers, so a training
// step (set_batch, forward, loss_backward_async, adamw) makes the host wait only for the previous
// step's copies, never for the step itself. The sft and reward plugins train through trainer.h
// (GpuTrainer); bench/gpu_llama and bench/gpu_parity drive this class directly.
//
// What trains: after init_lora/set_lora the LoRA matrices (the benchmarks' default; either call
// resets the trainable set to them); set_trainable chooses any combination of full / lora / head
// from a Model's Trainable, in the CPU's parameter order (model.h parameters()), which the
// param_* accessors index.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "wb/cuda/buffer.h"
#include "wb/cuda/dtype.h"
#include "wb/cuda/sampling.h"
#include "wb/cuda/stream.h"
#include "wb/kernels/adamw.h"
#include "wb/llama/batch.h"
#include "wb/llama/config.h"
#include "wb/llama/lora.h"
#include "wb/llama/model.h"
#include "wb/llama/cuda/section_timer.h"

namespace wb::gpu {

using cuda::DeviceBuffer;

// LoRA on the linears of every layer; modules indexed by wb::llama::LoraModule (Q..Down).
struct LoraSpec {
  int64_t rank = 16;
  float scale = 2.0f;  // lora_alpha / r (PEFT)
  std::array<bool, 7> targets{true, true, true, true, true, true, true};
};

template <typename T>
class GpuDecoder;  // serving decode over per-sequence KV caches (gpu_decoder.h)
template <typename T>
class GpuAdapter;  // an adapter's device copy for the decoder (gpu_adapter.h)

template <typename T>
class GpuLlama {
 public:
  // Random weights drawn on the device (N(0, 0.02^2), norms 1): the 7B benchmark shape.
  GpuLlama(cuda::Context& ctx, const llama::LlamaConfig& c, uint64_t seed);
  // Weights copied from a CPU model (load_model<float>), rounded to T.
  GpuLlama(cuda::Context& ctx, const llama::Model<float>& m);

  const llama::LlamaConfig& config() const { return c_; }

  // LoRA adapters: fresh PEFT-style (A random, B = 0 unless b_std > 0), or copied from the CPU
  // engine's adapter (same layout: A [r, in], B [out, r]); set_lora throws std::invalid_argument
  // (LoraAdapter::check_shapes, naming the tensor) for an adapter that does not fit this model.
  void init_lora(const LoraSpec& spec, uint64_t seed, float b_std = 0.0f);
  void set_lora(const llama::LoraAdapter<float>& a);

  // A frozen second adapter over the same base weights (the reference policy of DPO and PPO when
  // it is an SFT adapter): T copies only, never trained, no optimizer state. use_adapter picks what
  // the forward runs with — the trained adapter (the default), the frozen one, or the base alone —
  // without touching the trained adapter's weights, gradients or moments. Backward needs a
  // forward under kTrained. set_frozen_lora throws std::invalid_argument (naming the tensor) for
  // an adapter that does not fit; use_adapter throws std::logic_error for kFrozen before
  // set_frozen_lora.
  enum class AdapterUse { kTrained, kFrozen, kNone };
  void set_frozen_lora(const llama::LoraAdapter<float>& a);
  void use_adapter(AdapterUse u);
  AdapterUse adapter_in_use() const { return use_; }

  // Two trainable slots over the one base (PPO: the policy LoRA in one, the value model's LoRA +
  // head in the other, each with its own fp32 masters, gradients and AdamW moments). A slot holds
  // all of this class's trainable state except full training: the trained adapter, the head, the
  // trainable set and its parameter list. select_slot(k) makes slot k current; from then on
  // set_lora/init_lora/set_head/set_trainable, the forward under kTrained, every backward,
  // grad_sq_norm, adamw_step, zero_grads, trained_to_host and the param_* / lora_* accessors act
  // on slot k, and the other slot's state stays as it was. The base weights and the frozen
  // adapter are shared: never a second copy. A forward run before a switch cannot be
  // backpropagated after it (its saved activations belong to the other slot's adapter); run the
  // forward again. Slot 0 is current at construction. Throws std::out_of_range for k outside
  // [0, kSlots), std::logic_error while full training is on (its masters are not per slot).
  static constexpr int kSlots = 2;
  void select_slot(int k);
  int slot() const { return slot_; }

  // Sets the packed batch: tokens[n] with sequence lengths (sum = n); allocates activations for
  // n rows (kept between calls while n does not grow). The copies are asynchronous (pinned
  // staging); throws std::invalid_argument for an empty batch, lengths that do not sum to n or a
  // token id outside the vocabulary. When it throws after validation (a CudaError: out of device
  // memory) no batch is set: forward() refuses until a set_batch succeeds, which allocates anew.
  void set_batch(const std::vector<int32_t>& tokens, const std::vector<int32_t>& seq_lens);
  // The same for the CPU engine's packed batch (its tokens and the lengths its cu_seqlens mark).
  void set_batch(const llama::Batch& b);

  // Forward over the batch; logits [n, vocab] stay on the device (logits()).
  void forward();
  // The same without the LM head: only hidden() is written (reward/value heads, scoring).
  void forward_hidden();
  // The final RMSNorm's output [n, hidden_size] of the last forward()/forward_hidden() (device).
  const T* hidden() const { return xf_.data(); }
  // Mean cross-entropy over targets >= 0 (targets[n] on the host); requires forward() first.
  // With backward = true also adds the gradients of the trainable set. Synchronizes. Throws
  // std::invalid_argument when every target is masked. (Forward-only, backward = false, this is
  // the evaluation loss of a batch.)
  float loss_and_backward(const std::vector<int32_t>& targets, bool backward);
  // The CPU's token_cross_entropy (loss.h) without a host synchronization: a row counts when its
  // target is >= 0 and its weight (weights[n]; empty: all 1) is > 0; the loss is
  // sum w_i l_i / sum w_i over those rows. The loss is added to (accumulate) or written into
  // *loss_dev (one device fp32); with backward = true the gradients of the trainable set are
  // ADDED into their buffers (so micro-batches accumulate until adamw_step). Requires forward()
  // first. Returns the rows counted; 0 enqueues nothing (no loss, no gradient, like the CPU).
  // Throws std::invalid_argument for sizes that do not match the batch, a target outside the
  // vocabulary or a negative weight, before anything is enqueued.
  int64_t loss_backward_async(const std::vector<int32_t>& targets, const std::vector<float>& weights,
                              float* loss_dev, bool accumulate, bool backward);

  // Per-token log-probabilities of the last forward(): logp_i = log softmax(logits_i *
  // inv_temp)[targets[i]], 0 where targets[i] < 0 (kernels token_logprob_forward). Synchronizes.
  // Throws std::logic_error without forward() on this batch, std::invalid_argument for a size
  // other than the batch's rows or a target outside the vocabulary.
  std::vector<float> token_logprobs(const std::vector<int32_t>& targets, float inv_temp);
  // Per-row entropy of softmax(logits_i * inv_temp) of the last forward(), 0 where targets[i] < 0
  // (kernels token_entropy_forward; a metric, no backward). Synchronizes. Throws as
  // token_logprobs.
  std::vector<float> token_entropies(const std::vector<int32_t>& targets, float inv_temp);
  // After token_logprobs on a forward() under the trained adapter: ADDS the gradient of
  // sum_i coef[i] * logp_i (coef of either sign: DPO's chosen and rejected answers, PPO's
  // advantages) into the trainable set's gradients. The logits are overwritten (by their
  // gradient). Throws std::logic_error when the forward ran under another adapter or nothing is
  // trainable, std::invalid_argument for sizes that do not match; before anything is enqueued.
  void token_logprob_backward(const std::vector<int32_t>& targets, const std::vector<float>& coef,
                              float inv_temp);

  // Scalar head (reward / value models; wb/llama/lora.h ScalarHead): an fp32 master of the
  // weight [hidden] and bias, and a T copy of the weight. Replaces any previous head.
  void set_head(const llama::ScalarHead<float>& h);
  bool has_head() const { return head_w32_.size() > 0; }
  // Scores of the last forward_hidden()/forward(): r_s = hidden[row_s] . w + b for each sequence
  // s, row_s = last_index[s] (absolute rows of the packed batch, inside sequence s; empty: each
  // sequence's last row). Synchronizes. Throws std::invalid_argument for a bad last_index and
  // std::logic_error without a head.
  std::vector<float> head_scores(const std::vector<int32_t>& last_index);
  // The head read at chosen rows, several per sequence allowed (PPO's value model reads every
  // response row): v_j = hidden[rows[j]] . w + b of the last forward_hidden()/forward().
  // Synchronizes. Throws std::invalid_argument for no rows, more rows than the batch, a row
  // outside it or a repeated row; std::logic_error without a head or a forward.
  std::vector<float> head_values(const std::vector<int32_t>& rows);
  // ADDS the gradient of sum_j dv[j] * v_j into the trainable set: the head's weight and bias
  // (when it trains) and, through those rows' hidden states, the decoder (the CPU's
  // backward_hidden). Requires a forward under the trained adapter on this batch. Throws as
  // head_values, std::invalid_argument for a dv size other than rows', before anything is enqueued.
  void head_values_backward(const std::vector<int32_t>& rows, const std::vector<float>& dv);
  // The CPU's ranking loss over the batch's 2P sequences (chosen_0..chosen_{P-1} then
  // rejected_0..), without a host synchronization: mean_p -log sigmoid(r_c - r_r - margin_p)
  // (margins[P], empty: 0) plus, with centering > 0, centering * mean_p (r_c + r_r)^2; the scores
  // are head_scores' (same last_index rule). Added to (accumulate) or written into *loss_dev;
  // with backward = true the gradients of the trainable set are ADDED. Requires forward_hidden()
  // (or forward()) first. Throws std::invalid_argument for an odd or zero sequence count, a
  // margins size other than P, a bad last_index, before anything is enqueued; std::logic_error
  // without a head.
  void ranking_backward_async(const std::vector<int32_t>& last_index,
                              const std::vector<float>& margins, double centering, float* loss_dev,
                              bool accumulate, bool backward);

  // Chooses what backward computes gradients for and adamw_step updates: m.trainable's parts.
  //   full  every base tensor gets an fp32 master (copied from m.weights, not from the T copy),
  //         an fp32 gradient and AdamW moments (16 bytes per parameter beside the T copy).
  //   lora  the adapter given to set_lora/init_lora (which must match m.lora's targets).
  //   head  the head given to set_head.
  // Moments and gradients start at zero. Throws std::invalid_argument when a part is missing
  // (lora without set_lora, head without set_head) or m's config differs from this model's.
  void set_trainable(const llama::Model<float>& m);
  // The trainable tensors, in the CPU Trainer's order, with the CPU's names and decay rule.
  enum class ParamState { kWeight, kGrad, kAdamM, kAdamV };
  size_t n_params() const { return params_.size(); }
  const std::string& param_name(size_t i) const { return params_.at(i).name; }
  int64_t param_numel(size_t i) const { return params_.at(i).numel; }
  bool param_decays(size_t i) const { return params_.at(i).decay; }
  // The decoder layer parameter i belongs to (its gradient is final once a backward pass has gone
  // through that layer), or -1: the embeddings, the final norm, the LM head, the scalar head.
  int64_t param_layer(size_t i) const { return params_.at(i).layer; }
  // Device pointer to parameter i's fp32 gradient (param_numel(i) floats): what data-parallel
  // training reduces over the ranks between the last backward and adamw_step.
  float* param_grad(size_t i) { return params_.at(i).grad; }
  // Called on the host during every backward pass into the decoder, right after the kernels of
  // layer l's backward have been enqueued (l from the last layer down to 0): from that point of
  // the stream on, layer l's gradients hold this pass's contribution. Empty: not called. (The
  // data-parallel GpuTrainer starts reducing layer l's gradients there, overlapping the rest.)
  std::function<void(int64_t layer)> on_layer_backward;
  // fp32 state of parameter i (synchronizes); set_param_state replaces it (kWeight also
  // refreshes the T copy). Throws std::invalid_argument for a size other than param_numel(i) or
  // std::out_of_range for i.
  std::vector<float> param_state_host(size_t i, ParamState which);
  void set_param_state(size_t i, ParamState which, const std::vector<float>& v);
  // Copies every trainable fp32 master into m's matching tensor (full: m.weights, lora: m.lora,
  // head: m.head). Synchronizes. Throws std::invalid_argument when m lacks a part or a shape
  // differs.
  void trained_to_host(llama::Model<float>& m);

  // Squared L2 norm of every trainable gradient together (fp32 per tensor, summed in double on
  // the host, in parameter order). Synchronizes.
  double grad_sq_norm();
  double lora_grad_sq_norm() { return grad_sq_norm(); }  // (the name the benchmarks use)
  // One AdamW step (wb/kernels/adamw.h semantics, s.grad_scale folding in 1/accumulation and the
  // clip coefficient) on every trainable master weight, refreshing the T shadows; s.weight_decay
  // applies to the tensors that decay (param_decays). Then zeroes the gradients. Asynchronous.
  void adamw_step(const kernels::AdamWStep& s);
  // The same with the default betas/eps and no weight decay (the benchmarks).
  void adamw_step(float lr, int64_t step);
  // Zeroes every trainable gradient (asynchronous): drops what micro-batches accumulated.
  void zero_grads();

  // The fp32 state of one LoRA matrix (module m of layer l, B when b), for checkpoints.
  using LoraState = ParamState;
  bool lora_targets(int64_t layer, int module) const;
  std::vector<float> lora_state_host(int64_t layer, int module, bool b, LoraState which);
  // Replaces it (kWeight also refreshes the T shadow). Throws std::invalid_argument for a module
  // that is not targeted or a size that does not match.
  void set_lora_state(int64_t layer, int module, bool b, LoraState which, const std::vector<float>& v);
  // Copies the fp32 master weights into `a` (same config as the adapter given to set_lora).
  void lora_host(llama::LoraAdapter<float>& a);

  // The logits [n, vocab] of the last forward() (allocated there, not by set_batch: scoring and
  // reward training through forward_hidden() never hold rows x vocab of them). logits_host()
  // throws std::logic_error unless forward() ran on the current batch; so does the token loss.
  const T* logits() const { return logits_.data(); }
  std::vector<float> logits_host();
  // fp32 LoRA gradient of (layer, module): A then B (for the parity check).
  std::vector<float> lora_grad_host(int64_t layer, int module, bool b) {
    return lora_state_host(layer, module, b, LoraState::kGrad);
  }

  // Decode for tests and benchmarks, as a client of the serving decoder (GpuDecoder, the one
  // decode path on the GPU): `batch` sequences, each starting from prompt[b] (all the same
  // length), generating n_new tokens each; returns the ids [batch][n_new]. The base model, or
  // with with_lora the base plus the current LoRA adapter (set_lora / init_lora / training),
  // copied once into a GpuAdapter for the decoder. Greedy (argmax, the lowest id on ties), or
  // sampling[b] for row b (empty: greedy everywhere) with seeds[b]: the host draws with the CPU's
  // sample_token (sampler.h) and Rng(seeds[b]), so a row gets the CPU sampler's tokens for those
  // logits. Throws std::invalid_argument for sizes other than the batch, or when prompt + n_new - 1
  // exceeds the model's context (the decoder's KV caches).
  std::vector<std::vector<int32_t>> generate(const std::vector<std::vector<int32_t>>& prompts,
                                             int64_t n_new, bool with_lora = false,
                                             const std::vector<cuda::DeviceSampling>& sampling = {},
                                             const std::vector<uint64_t>& seeds = {});

  // Per-section GPU time of forward/backward/adamw (see section_timer.h); off unless enabled.
  SectionTimer& profiler() { return prof_; }

 private:
  friend class GpuDecoder<T>;  // reads the converted weights; never changes them
  friend class GpuAdapter<T>;  // copies the current LoRA adapter

  // The projections are stored fused, [q; k; v] and [gate; up], so decode reads each with one
  // kernel; w[m] points at module m's [out, in] block inside them.
  struct Layer {
    DeviceBuffer<T> ln1, ln2, wqkv, wo, wgu, wdown;
    std::array<T*, 7> w{};  // q, k, v, o, gate, up, down
  };
  struct LoraPair {
    bool on = false;
    DeviceBuffer<float> A32, B32, dA, dB, mA, vA, mB, vB;
    DeviceBuffer<T> A, B;
  };
  struct Acts {  // one layer's saved activations for backward
    DeviceBuffer<T> x, xn1, q, k, v, att, xmid, xn2, g, u, h;
    DeviceBuffer<float> rstd1, rstd2, lse;
    std::array<DeviceBuffer<T>, 7> t;  // LoRA x A^T per module
  };

  // A cudaEvent_t that marks when a staging buffer's copies have left the host.
  struct EventDeleter {
    void operator()(CUevent_st* e) const noexcept;
  };
  using Event = std::unique_ptr<CUevent_st, EventDeleter>;
  // Waits until `fence`'s previous copies are done (the device reached them), so the pinned
  // staging behind it can be rewritten.
  static void wait_fence(const Event& fence);
  static Event make_event();
  LoraPair& pair_at(int64_t layer, int module);
  float* state_ptr(LoraPair& p, bool b, LoraState which);

  // fp32 training state of one stored base tensor (full training): master, gradient, moments.
  struct Master {
    DeviceBuffer<float> w, g, m, v;
  };
  struct LayerMasters {
    Master ln1, ln2, wqkv, wo, wgu, wdown;
  };
  // One trainable tensor: views of its fp32 master, gradient and moments (q/k/v and gate/up are
  // blocks of their fused buffers) and the T copy AdamW refreshes (null for the head's bias,
  // which the forward reads in fp32).
  struct TrainParam {
    std::string name;
    int64_t numel = 0;
    bool decay = true;
    float *value = nullptr, *grad = nullptr, *m = nullptr, *v = nullptr;
    T* shadow = nullptr;
    int64_t layer = -1;  // decoder layer, -1 outside the layers
  };
  // The LoRA matrices as parameters (adapter order: layer, module, A then B).
  void add_lora_params();
  // fp32 gradient of module m's [out, in] block in layer l (full training).
  float* full_grad(int64_t l, int m);
  // Checks last_index (empty: each sequence's last row) against the batch; the rows to read.
  std::vector<int32_t> head_rows(const std::vector<int32_t>& last_index) const;
  // Checks rows for head_values: within the batch, distinct, at most n.
  void check_value_rows(const std::vector<int32_t>& rows) const;
  // Stages the head's rows (and margins) and computes scores_ = h[rows] . w + b. Asynchronous.
  void head_forward(const std::vector<int32_t>& rows, const std::vector<float>& margins);
  // Backward from d hidden (dxf [n, D], consumed) through the decoder into the trainable set.
  void backward_decoder(T* dxf);
  bool decoder_trains() const { return train_full_ || (train_lora_ && has_lora_); }

  void alloc_weights();
  void alloc_acts(int64_t n);
  // y = x W^T (+ LoRA) for module m of layer l; t is the LoRA scratch kept for backward.
  void linear(int64_t l, int m, T* y, const T* x, int64_t n, T* t);
  // dx += (or = with accumulate false) the input gradient of module m, LoRA included.
  void linear_back(int64_t l, int m, T* dx, const T* dy, const T* x, const T* t, int64_t n,
                   bool accumulate = true);
  std::pair<int64_t, int64_t> shape(int m) const;  // {in, out}

  cuda::Context& ctx_;
  llama::LlamaConfig c_;
  DeviceBuffer<T> embed_, norm_, lm_head_;
  std::vector<Layer> layers_;
  LoraSpec lora_;
  bool has_lora_ = false;
  std::vector<std::array<LoraPair, 7>> lora_pairs_;

  // The frozen adapter (set_frozen_lora) and what the forward runs with.
  struct FrozenPair {
    bool on = false;
    DeviceBuffer<T> A, B;
  };
  LoraSpec frozen_;
  bool has_frozen_ = false;
  std::vector<std::array<FrozenPair, 7>> frozen_pairs_;
  AdapterUse use_ = AdapterUse::kTrained;
  AdapterUse forward_use_ = AdapterUse::kTrained;  // what the last forward ran with
  int forward_slot_ = 0;                           // the slot current at the last forward
  // True when the last forward ran under the current slot's trained adapter (backward may run).
  bool forward_trained() const { return forward_use_ == AdapterUse::kTrained && forward_slot_ == slot_; }

  // The trainable state of the slot that is not current (select_slot swaps it with the members).
  struct SlotState {
    LoraSpec lora;
    bool has_lora = false;
    std::vector<std::array<LoraPair, 7>> pairs;
    bool train_lora = true, train_head = false;
    std::vector<TrainParam> params;
    DeviceBuffer<float> head_w32, head_b32, head_dw, head_db, head_mw, head_vw, head_mb, head_vb;
    DeviceBuffer<T> head_w;
  };
  SlotState parked_;
  int slot_ = 0;
  void swap_slot(SlotState& s);
  // Checks targets against the batch and stages them into targets_ (asynchronous).
  void stage_targets(const std::vector<int32_t>& targets, const std::vector<float>* coef);

  int64_t n_ = 0, cap_ = 0;
  DeviceBuffer<int32_t> tokens_, seq_start_, positions_, targets_;
  std::vector<Acts> acts_;
  DeviceBuffer<T> xf_, logits_, dx_, dres_, dbuf_a_, dbuf_b_, dbuf_c_, dq_, dk_, dv_, dt_;
  int64_t logits_rows_ = 0;  // rows of logits_ that forward() computed for the current batch
  DeviceBuffer<float> rstdf_, losses_, dloss_, attn_ws_;
  DeviceBuffer<float> rope_cs_;  // RoPE (cos, sin) per row of the batch (rope_table)
  std::vector<int32_t> seq_lens_;  // of the current batch (host)
  std::vector<int32_t> cu_seqlens_;  // the same as boundaries: 0, L0, L0+L1, ... (host)
  // Attention through cuBLAS batched GEMMs when its quadratic workspace stays under
  // kAttnGemmMaxBytes (WB_ATTENTION=rows forces the per-row kernels).
  static constexpr size_t kAttnGemmMaxBytes = size_t(2) << 30;
  bool attn_gemm_ = false;
  DeviceBuffer<float> attn_gemm_ws_;
  int64_t n_valid_ = 0;
  // Pinned staging for the per-step inputs: [tokens | seq_start | positions] and
  // [targets], [dloss]; each has a fence recorded after its copies.
  cuda::PinnedBuffer<int32_t> stage_batch_, stage_targets_;
  cuda::PinnedBuffer<float> stage_dloss_;
  Event batch_fence_ = make_event(), targets_fence_ = make_event();
  DeviceBuffer<float> loss_dev_, norm_slots_;
  SectionTimer prof_;

  // Training state. LoRA trains by default once an adapter is set (the benchmarks).
  bool train_full_ = false, train_lora_ = true, train_head_ = false;
  std::vector<LayerMasters> full_;
  Master embed32_, norm32_, lm_head32_;
  std::vector<TrainParam> params_;
  // Scalar head: fp32 weight/bias masters, gradients, moments; the weight's T copy.
  DeviceBuffer<float> head_w32_, head_b32_, head_dw_, head_db_, head_mw_, head_vw_, head_mb_,
      head_vb_;
  DeviceBuffer<T> head_w_;
  // Per batch: the rows the head reads, margins, scores and their gradients, a column of ones
  // (adds the bias as a 1-column product), with pinned staging behind head_fence_.
  DeviceBuffer<int32_t> head_rows_;
  DeviceBuffer<float> margins_, scores_, dscores_, ones_;
  cuda::PinnedBuffer<int32_t> stage_rows_;
  cuda::PinnedBuffer<float> stage_margins_;
  Event head_fence_ = make_event();
};

}  // namespace wb::gpu
