#include "engine.h"

#include <random>
#include <system_error>

#include "request_spec.h"
#include "wb/plugin/error.h"
#include "wb/llama/chat_template.h"
#include "wb/llama/model_io.h"

namespace wb::serve {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

llama::Model<float> load_base(const ModelOptions& o) {
  std::error_code ec;
  if (!fs::is_directory(o.path, ec)) throw plugin::PluginError(WB_NOT_FOUND, "load_model: no model directory at " + o.path.string());
  try {
    return llama::load_model<float>(o.path);
  } catch (const std::exception& e) {
    throw plugin::PluginError(WB_INVALID, "load_model: " + std::string(e.what()));
  }
}

std::optional<llama::Tokenizer> load_tokenizer(const fs::path& dir) {
  std::error_code ec;
  if (!fs::exists(dir / "tokenizer.model", ec)) return std::nullopt;
  try {
    return llama::Tokenizer(dir / "tokenizer.model");
  } catch (const std::exception& e) {
    throw plugin::PluginError(WB_INVALID, "load_model: " + std::string(e.what()));
  }
}

// The backend the device choice asks for. "auto" falls back to the CPU when the GPU cannot take
// the model (e.g. out of device memory); o.device_note and o.batch_invariant follow what was built.
std::unique_ptr<llama::DecodeBackend> make_backend(ModelOptions& o, const DeviceChoice& d, llama::Model<float>& m,
                                                   int64_t context) {
  o.device_note = d.note;
  llama::DecodeBackendOptions bo;
  bo.batch_invariant = o.batch_invariant;
  bo.row_tile = o.row_tile;
  bo.gpu_dtype = o.gpu_dtype;
  bo.max_seqs = o.max_batch;
  bo.max_context = context;
  if (d.cuda) {
    try {
      auto b = llama::make_decode_backend(d, m, bo);
      o.batch_invariant = false;  // not on the GPU (serve_device.h refuses an explicit true)
      return b;
    } catch (const std::exception& e) {
      if (o.device == "cuda")
        throw plugin::PluginError(WB_ERROR, "load_model: \"device\" \"cuda\": the GPU could not take the model: " +
                                       std::string(e.what()));
      o.device_note = "device \"auto\" serves on the CPU: the GPU could not take the model: " + std::string(e.what());
    }
  }
  // On the CPU the weights are packed for fused q/k/v and gate/up products (Weights::pack_fused;
  // the same memory): prompts prefill with two GEMMs fewer per layer.
  m.weights.pack_fused();
  return llama::make_decode_backend(llama::DeviceChoice{}, m, bo);
}

}  // namespace

Engine::Engine(ModelOptions options)
    : opts_(std::move(options)),
      device_(choose_device(opts_)),  // before reading the model: a refusal costs nothing
      model_(load_base(opts_)),
      tokenizer_(load_tokenizer(opts_.path)),
      context_(opts_.max_context > 0 ? std::min(opts_.max_context, model_.config.max_position_embeddings)
                                     : model_.config.max_position_embeddings),
      backend_(make_backend(opts_, device_, model_, context_)),
      registry_(model_.config, opts_.max_adapters, opts_.max_rank, backend_->adapter_upload()),
      seed_counter_(std::random_device{}()) {
  if (tokenizer_ && tokenizer_->vocab_size() > model_.config.vocab_size)
    throw plugin::PluginError(WB_INVALID, "load_model: tokenizer.model has " + std::to_string(tokenizer_->vocab_size()) +
                                     " pieces but the model's vocabulary is " + std::to_string(model_.config.vocab_size));
  thread_ = std::thread([this] { loop(); });
}

Engine::~Engine() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::vector<int32_t> Engine::prompt_tokens(const RequestSpec& spec) const {
  if (spec.prompt_ids) {
    for (int32_t id : *spec.prompt_ids)
      if (id >= model_.config.vocab_size)
        throw plugin::PluginError(WB_INVALID, "request: \"prompt\" token id " + std::to_string(id) + " is outside the vocabulary (" +
                                         std::to_string(model_.config.vocab_size) + ")");
    return *spec.prompt_ids;
  }
  if (!tokenizer_)
    throw plugin::PluginError(WB_INVALID, "request: model '" + opts_.name +
                                     "' has no tokenizer.model; send \"prompt\" as an array of token ids");
  try {
    if (spec.messages) {
      llama::ChatTokens ct = llama::render_llama2_chat(*tokenizer_, *spec.messages);
      if (!ct.ends_with_prompt)
        throw plugin::PluginError(WB_INVALID, "request: \"messages\" must end with a user message");
      return ct.ids;
    }
    return tokenizer_->encode(*spec.prompt_text, /*add_bos=*/true);
  } catch (const plugin::PluginError&) {
    throw;
  } catch (const std::exception& e) {
    throw plugin::PluginError(WB_INVALID, std::string("request: ") + e.what());
  }
}

uint64_t Engine::submit(const json& request, EventFn on_event) {
  if (!on_event) throw plugin::PluginError(WB_INVALID, "request: no event callback");
  const RequestSpec spec = RequestSpec::from_json(request);
  PreparedRequest p;
  p.model_name = opts_.name;
  // Resolve the adapter: "adapter", or "model" naming an adapter instead of the base model.
  std::optional<std::string> adapter_name = spec.adapter;
  if (spec.model && *spec.model != opts_.name) {
    if (adapter_name && *adapter_name != *spec.model)
      throw plugin::PluginError(WB_INVALID, "request: \"model\" ('" + *spec.model + "') and \"adapter\" ('" + *adapter_name +
                                       "') name different adapters");
    adapter_name = spec.model;
  }
  if (adapter_name) {
    p.adapter = registry_.find(*adapter_name);
    if (!p.adapter) {
      if (spec.model && *spec.model == *adapter_name && !spec.adapter)
        throw plugin::PluginError(WB_NOT_FOUND, "model '" + *adapter_name + "' is neither the served model ('" + opts_.name +
                                           "') nor a loaded adapter");
      throw plugin::PluginError(WB_NOT_FOUND, "adapter '" + *adapter_name + "' is not loaded");
    }
    p.model_name = *adapter_name;
  }
  if (spec.adapter_scale && !p.adapter) throw plugin::PluginError(WB_INVALID, "request: \"adapter_scale\" needs an adapter");
  p.adapter_scale = static_cast<float>(spec.adapter_scale.value_or(p.adapter ? p.adapter->scale : 1.0));
  if (!spec.stop.empty() && !tokenizer_)
    throw plugin::PluginError(WB_INVALID, "request: \"stop\" needs a model with a tokenizer.model");
  p.prompt = prompt_tokens(spec);
  if (p.prompt.empty()) throw plugin::PluginError(WB_INVALID, "request: the prompt encodes to no tokens");
  if (static_cast<int64_t>(p.prompt.size()) > context_)
    throw plugin::PluginError(WB_INVALID, "request: the prompt has " + std::to_string(p.prompt.size()) +
                                     " tokens, more than the context of " + std::to_string(context_));
  p.sampling = spec.sampling;
  p.max_tokens = spec.max_tokens;
  p.stop = spec.stop;
  p.stop_at_eos = !spec.ignore_eos;
  if (spec.n > opts_.max_batch)
    throw plugin::PluginError(WB_INVALID, "request: \"n\" is " + std::to_string(spec.n) + ", more than max_batch (" +
                                     std::to_string(opts_.max_batch) + "): the n answers decode side by side");
  p.n = spec.n;
  p.logprobs = spec.logprobs;
  if (spec.batch_invariant && !backend_->invariant_on_request())
    throw plugin::PluginError(WB_INVALID, "request: \"batch_invariant\": true cannot be honoured on " +
                                              backend_->device() +
                                              " (its kernels are picked by the batch's shape); serve on the CPU");
  p.batch_invariant = spec.batch_invariant;
  p.on_event = std::move(on_event);
  uint64_t id = 0;
  {
    std::lock_guard lock(mu_);
    if (stopping_) throw plugin::PluginError(WB_ERROR, "the model is being unloaded");
    if (static_cast<int64_t>(queue_.size()) >= opts_.max_queue) {
      metrics_.rejected_busy();
      throw plugin::PluginError(WB_BUSY, "the serving queue is full (" + std::to_string(queue_.size()) +
                                    " requests waiting, max_queue " + std::to_string(opts_.max_queue) + "); retry later");
    }
    id = next_id_++;
    p.id = id;
    if (!spec.seeded) p.sampling.seed = seed_counter_++ * 0x9e3779b97f4a7c15ULL;
    live_[id] = p.cancel_flag;
    queue_.push_back(std::move(p));
  }
  metrics_.submitted();
  cv_.notify_all();
  return id;
}

bool Engine::cancel(uint64_t id) {
  std::lock_guard lock(mu_);
  auto it = live_.find(id);
  if (it == live_.end()) return false;
  it->second->store(true);
  cv_.notify_all();
  return true;
}

void Engine::admit(std::vector<std::unique_ptr<ActiveRequest>>& running) {
  std::vector<PreparedRequest> admitted;
  {
    std::lock_guard lock(mu_);
    // A request takes n slots (its choices decode side by side); arrival order, no overtaking.
    int64_t used = 0;
    for (const auto& r : running) used += r->slots();
    while (!queue_.empty() && used + queue_.front().n <= opts_.max_batch) {
      used += queue_.front().n;
      admitted.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
  }
  // Sequences are opened without the lock: a request that cannot get one ends with "error" (its
  // done event goes out here, and the callback may call cancel or stats).
  for (PreparedRequest& p : admitted) {
    // The cache never needs more than prompt + max_tokens rows (+1 so the last token fits).
    const int64_t need = static_cast<int64_t>(p.prompt.size()) + std::max<int64_t>(p.max_tokens, 1);
    std::unique_ptr<llama::BackendSequence> seq;
    try {
      seq = backend_->open(std::min(context_, need), p.adapter ? p.adapter->ref() : llama::AdapterRef{},
                           p.adapter_scale);
    } catch (const std::exception& e) {
      const uint64_t id = p.id;
      ActiveRequest(std::move(p), model_.config, nullptr, tokenizer(), metrics_).finish("error", e.what());
      std::lock_guard lock(mu_);
      live_.erase(id);
      continue;
    }
    ++running_count_;
    running.push_back(std::make_unique<ActiveRequest>(std::move(p), model_.config, std::move(seq), tokenizer(),
                                                      metrics_, &running_count_));
  }
}

void Engine::run_pass(const std::vector<ActiveRequest*>& batch, bool decode) {
  if (batch.empty()) return;
  std::vector<llama::BackendSequence*> seqs;
  std::vector<std::vector<int32_t>> feeds;
  int64_t rows = 0;
  for (ActiveRequest* r : batch) {
    seqs.push_back(&r->sequence());
    feeds.push_back(r->next_feed(opts_.prefill_chunk));
    rows += static_cast<int64_t>(feeds.back().size());
  }
  std::vector<float> logits;
  try {
    if (decode && backend_->invariant_on_request()) {
      // One request asking for invariance makes the whole pass invariant (each row's products
      // then run in a fixed order, independent of the other rows).
      bool any = false;
      for (ActiveRequest* r : batch) any = any || r->batch_invariant();
      backend_->set_invariant_passes(any);
    }
    backend_->forward(std::span<llama::BackendSequence* const>(seqs.data(), seqs.size()), feeds, logits, decode);
    metrics_.step(rows);
    for (size_t i = 0; i < batch.size(); ++i)
      if (batch[i]->prefilling()) metrics_.prefilled(static_cast<int64_t>(feeds[i].size()));
    const int64_t V = model_.config.vocab_size;
    for (size_t i = 0; i < batch.size(); ++i) {
      const std::span<const float> row(logits.data() + static_cast<int64_t>(i) * V, static_cast<size_t>(V));
      const auto fed = static_cast<int64_t>(feeds[i].size());
      if (batch[i]->needs_fork(fed)) fork_choices(*batch[i], row, fed);
      batch[i]->accept_logits(row, fed);
    }
  } catch (const std::exception& e) {
    for (ActiveRequest* r : batch) r->finish("error", e.what());
  }
}

void Engine::fork_choices(ActiveRequest& first, std::span<const float> row, int64_t fed) {
  // The prompt is in first's cache now: each other choice gets a copy of it and samples its
  // first token from the same logits row (prefill once, n answers).
  while (first.needs_fork(fed)) {
    std::unique_ptr<ActiveRequest> c;
    try {
      c = first.make_sibling(backend_->fork(first.sequence()));
    } catch (const std::exception& e) {  // choice 0 and the choices not made end with "error"
      first.finish("error", "forking choice " + std::to_string(first.next_choice()) + ": " + e.what());
      return;
    }
    metrics_.forked(1);
    c->accept_logits(row, fed);  // the prompt counts as fed: samples its first token
    spawned_.push_back(std::move(c));
  }
}

void Engine::step(std::vector<std::unique_ptr<ActiveRequest>>& running) {
  for (auto& r : running)
    if (r->cancel_requested()) r->finish("cancelled");
  std::vector<ActiveRequest*> decoding, prefilling;
  int64_t budget = opts_.prefill_budget;
  for (auto& r : running) {  // arrival order
    if (r->finished()) continue;
    if (!r->prefilling()) {
      decoding.push_back(r.get());
      continue;
    }
    const int64_t next = std::min(opts_.prefill_chunk, r->prompt_left());
    if (!prefilling.empty() && next > budget) continue;  // one chunk always goes through
    budget -= next;
    prefilling.push_back(r.get());
  }
  // Every generating sequence's next token in one pass (batch-invariant products), then each
  // prompt chunk in a pass of its own: a chunk is cut at fixed offsets, so that pass is the same
  // computation whatever else runs, and one GEMM call covers the whole chunk. A backend that
  // promises no batch invariance (the GPU) takes them all in one pass: one weight stream a step.
  if (backend_->one_pass()) {
    decoding.insert(decoding.end(), prefilling.begin(), prefilling.end());
    run_pass(decoding, true);
  } else {
    run_pass(decoding, true);
    for (ActiveRequest* r : prefilling) run_pass({r}, false);
  }
  // Forked choices join the batch (they sampled their first token already).
  for (auto& c : spawned_) running.push_back(std::move(c));
  spawned_.clear();
  // Finished choices leave now: their adapter reference and KV cache are released here.
  std::vector<uint64_t> gone;
  for (auto it = running.begin(); it != running.end();) {
    if ((*it)->finished()) {
      if ((*it)->group_complete()) gone.push_back((*it)->id());
      it = running.erase(it);
    } else {
      ++it;
    }
  }
  std::lock_guard lock(mu_);
  for (uint64_t id : gone) live_.erase(id);
}

void Engine::loop() {
  std::vector<std::unique_ptr<ActiveRequest>> running;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty() || !running.empty(); });
      if (stopping_) break;
    }
    // Requests cancelled while queued end without ever running.
    {
      std::deque<PreparedRequest> dropped;
      {
        std::lock_guard lock(mu_);
        for (auto it = queue_.begin(); it != queue_.end();) {
          if (it->cancel_flag->load()) {
            live_.erase(it->id);
            dropped.push_back(std::move(*it));
            it = queue_.erase(it);
          } else {
            ++it;
          }
        }
      }
      for (auto& p : dropped) ActiveRequest(std::move(p), model_.config, nullptr, tokenizer(), metrics_).finish("cancelled");
    }
    try {
      admit(running);
      step(running);
    } catch (const std::exception& e) {  // e.g. out of memory for a KV cache: fail what runs, keep serving
      for (auto& c : spawned_) running.push_back(std::move(c));
      spawned_.clear();
      for (auto& r : running) r->finish("error", e.what());
      running.clear();
      std::lock_guard lock(mu_);
      live_.clear();
      for (const auto& p : queue_) live_[p.id] = p.cancel_flag;
    }
  }
  // Unloading: everything still queued or running ends now, on this thread.
  std::deque<PreparedRequest> left;
  {
    std::lock_guard lock(mu_);
    left.swap(queue_);
    live_.clear();
  }
  for (auto& r : running) r->finish("cancelled", "the model was unloaded");
  running.clear();
  for (auto& p : left)
    ActiveRequest(std::move(p), model_.config, nullptr, tokenizer(), metrics_).finish("cancelled", "the model was unloaded");
}

json Engine::stats() const {
  json j = opts_.to_json();
  j["model"] = opts_.name;
  j["device"] = backend_->device();  // where it runs; the options' "device" is what was asked
  j["device_requested"] = opts_.device;
  j["device_name"] = backend_->device_name();
  j["context"] = context_;
  j["tokenizer"] = tokenizer_.has_value();
  json adapters = json::array();
  for (const auto& a : registry_.list())
    adapters.push_back({{"name", a.name}, {"version", a.version}, {"refs", a.refs}, {"scale", a.scale},
                        {"rank", a.rank}, {"alpha", a.alpha}, {"bytes", a.bytes}, {"path", a.path},
                        {"resident", a.resident}});
  j["adapters"] = adapters;
  j["adapter_bytes"] = registry_.bytes();
  {
    std::lock_guard lock(mu_);
    j["queued"] = queue_.size();
  }
  j["running"] = running_count_.load();
  j["tokens_per_s"] = metrics_.tokens_per_s();
  j["metrics"] = metrics_.to_json();
  return j;
}

}  // namespace wb::serve
