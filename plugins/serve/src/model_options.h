// ModelOptions: the load_model request of the wb_serving table, parsed and checked.
//
//   {"name": "tiny", "path": "/data/models/tiny", "max_batch": 8, "max_context": 2048,
//    "max_adapters": 8, "max_queue": 64, "max_rank": 64, "device": "cpu",
//    "prefill_chunk": 64, "prefill_budget": 256, "batch_invariant": false, "row_tile": 0,
//    "gpu_dtype": "bf16"}
//
// Only "path" is required. Unknown fields and wrong types are refused (plugin::PluginError WB_INVALID
// naming the field). Which device actually serves is decided by serve_device.h from "device",
// this build and this machine; on the GPU batch_invariant is false (and may not be asked for).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

namespace wb::serve {

struct ModelOptions {
  std::string name;                 // default: the directory's name
  std::filesystem::path path;       // HF model directory (config.json, model.safetensors, tokenizer.model?)
  int64_t max_batch = 8;            // sequences decoded together (running requests)
  int64_t max_context = 0;          // tokens per sequence, prompt included; 0: the model's context
  int64_t max_adapters = 8;         // resident adapters
  int64_t max_queue = 64;           // requests waiting for a batch slot; beyond it submit is WB_BUSY
  int64_t max_rank = 256;           // adapters of a larger rank are refused
  std::string device = "cpu";       // what was asked: "cpu" | "cuda" | "auto"
  std::string device_note;          // why the engine runs elsewhere ("" when it runs as asked)
  std::string gpu_dtype = "bf16";   // GPU storage of weights, adapters and KV caches: "bf16" | "fp32"
  int64_t prefill_chunk = 64;       // prompt tokens fed per sequence per step
  int64_t prefill_budget = 256;     // prompt tokens fed per step over all sequences (>= one chunk)
  // true: the decode pass runs the fixed-order row kernel (Decoder::set_row_invariant), so a
  // request's tokens do not depend on what shares its steps; false (the default, as in other
  // servers): the fastest kernel for each shape, which may round a row differently by batch size.
  bool batch_invariant = false;
  bool batch_invariant_given = false;  // the request named batch_invariant (the GPU refuses true)
  int64_t row_tile = 0;             // without batch_invariant: BLAS row tile of the decode pass (0: none)

  // Throws plugin::PluginError(WB_INVALID) naming the field.
  static ModelOptions from_json(const nlohmann::json& j);
  nlohmann::json to_json() const;
};

}  // namespace wb::serve
