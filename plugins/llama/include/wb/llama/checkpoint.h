// Training checkpoints: everything needed to continue a run so that it reproduces the
// uninterrupted run bit for bit — trainable weights, AdamW moments and step count, the trainer's
// RNG state, the data source's position, and the trainer's own metadata.
//
// On disk a checkpoint is one directory:
//   checkpoint.json    {"format":"workbench-checkpoint","version":1,"step":N,"optimizer_steps":N,
//                       "rng":"<Rng::to_string>","data_position":{...},"meta":{...},
//                       "weights":[names...],"optimizer":[names...]}
//   state.safetensors  F32 tensors "weight/<name>", "adam_m/<name>", "adam_v/<name>"
// save_checkpoint writes a sibling "<dir>.tmp.<pid>" (state.safetensors, then checkpoint.json, each
// fsynced), moves the previous checkpoint to "<dir>.old.<pid>", renames the new one to <dir> and
// removes the old one. A kill at any point leaves one complete checkpoint under one of those
// names; recover_checkpoint() (run by checkpoint_exists, load_checkpoint and save_checkpoint)
// makes the newest complete one <dir> again and deletes the leftovers.
#pragma once

#include "wb/engine_error.h"

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "wb/llama/optimizer.h"

namespace wb::llama {

// An EngineError of kind invalid_input unless the throw site says otherwise (io when writing or reading fails).
class CheckpointError : public EngineError {
 public:
  explicit CheckpointError(const std::string& message, ErrorKind kind = ErrorKind::invalid_input) : EngineError(kind, message) {}
};

struct NamedBuffer {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> data;  // row-major, product(shape) elements
};

struct Checkpoint {
  int64_t step = 0;              // optimizer steps completed
  int64_t optimizer_steps = 0;   // AdamW's bias-correction count (== step unless restarted)
  std::string rng;               // Rng::to_string()
  nlohmann::json data_position = nlohmann::json::object();
  nlohmann::json meta = nlohmann::json::object();
  std::vector<NamedBuffer> weights;
  std::vector<AdamWSlot> optimizer;
};

// Writes `dir` atomically (replacing an existing checkpoint there). The parent must exist.
// Throws CheckpointError naming the path on I/O failure, of kind no_space when the disk, a
// quota or the file-size limit is full (the plugins answer WB_NO_SPACE: the job is held); an
// existing checkpoint is kept either way.
void save_checkpoint(const std::filesystem::path& dir, const Checkpoint& ckpt);

// Reads and validates a checkpoint directory. Throws CheckpointError naming the file and field
// for a missing file, malformed JSON, wrong format/version, a tensor listed but absent, or
// moments whose size disagrees with each other.
Checkpoint load_checkpoint(const std::filesystem::path& dir);

// Finishes a rotation a kill interrupted: of <dir> and its "<dir>.tmp.*" / "<dir>.old.*"
// siblings, the complete checkpoint with the highest step becomes <dir>; every sibling is then
// removed. Returns true when <dir> holds a complete checkpoint afterwards. Throws CheckpointError
// (io) when a rename fails.
bool recover_checkpoint(const std::filesystem::path& dir);

// recover_checkpoint(dir): true when `dir` (after recovery) holds a complete checkpoint (its
// tensors are not validated).
bool checkpoint_exists(const std::filesystem::path& dir);

}  // namespace wb::llama
