#include "wb/llama/checkpoint.h"

#include <unistd.h>

#include <system_error>

#include "wb/llama/file_io.h"
#include "wb/llama/safetensors.h"

namespace wb::llama {
namespace fs = std::filesystem;

namespace {

constexpr const char* kFormat = "workbench-checkpoint";
constexpr int kVersion = 1;

std::string temp_sibling(const fs::path& dir, const char* tag) {
  return dir.string() + "." + tag + "." + std::to_string(::getpid());
}

}  // namespace

bool checkpoint_exists(const fs::path& dir) { return fs::is_regular_file(dir / "checkpoint.json"); }

void save_checkpoint(const fs::path& dir, const Checkpoint& ckpt) {
  const fs::path tmp = temp_sibling(dir, "tmp");
  const fs::path old = temp_sibling(dir, "old");
  std::error_code ec;
  fs::remove_all(tmp, ec);
  try {
    nlohmann::json j;
    j["format"] = kFormat;
    j["version"] = kVersion;
    j["step"] = ckpt.step;
    j["optimizer_steps"] = ckpt.optimizer_steps;
    j["rng"] = ckpt.rng;
    j["data_position"] = ckpt.data_position;
    j["meta"] = ckpt.meta;
    SafetensorsWriter w;
    auto& wnames = j["weights"] = nlohmann::json::array();
    for (const auto& b : ckpt.weights) {
      w.add_f32("weight/" + b.name, b.shape, b.data);
      wnames.push_back(b.name);
    }
    auto& onames = j["optimizer"] = nlohmann::json::array();
    for (const auto& s : ckpt.optimizer) {
      if (s.m.size() != s.v.size()) throw CheckpointError("checkpoint: moments of '" + s.name + "' differ in size");
      w.add_f32("adam_m/" + s.name, {static_cast<int64_t>(s.m.size())}, s.m);
      w.add_f32("adam_v/" + s.name, {static_cast<int64_t>(s.v.size())}, s.v);
      onames.push_back(s.name);
    }
    if (!fs::create_directory(tmp, ec) || ec)
      throw CheckpointError("cannot create " + tmp.string() + ": " + ec.message(), ErrorKind::io);
    w.write(tmp / "state.safetensors");
    write_file_atomic(tmp / "checkpoint.json", j.dump(2));
    // Swap: move any existing checkpoint aside, move the new one in, then drop the old one.
    fs::remove_all(old, ec);
    const bool had_old = fs::exists(dir);
    if (had_old) fs::rename(dir, old);
    try {
      fs::rename(tmp, dir);
    } catch (...) {
      if (had_old) fs::rename(old, dir, ec);
      throw;
    }
    if (had_old) fs::remove_all(old, ec);
  } catch (const CheckpointError&) {
    fs::remove_all(tmp, ec);
    throw;
  } catch (const std::exception& e) {
    fs::remove_all(tmp, ec);
    throw CheckpointError("cannot save checkpoint " + dir.string() + ": " + e.what(), ErrorKind::io);
  }
}

Checkpoint load_checkpoint(const fs::path& dir) {
  const fs::path jpath = dir / "checkpoint.json";
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_text_file(jpath));
  } catch (const std::exception& e) {
    throw CheckpointError("cannot read checkpoint " + jpath.string() + ": " + e.what());
  }
  auto field = [&](const char* name) -> const nlohmann::json& {
    if (!j.is_object() || !j.contains(name))
      throw CheckpointError(jpath.string() + ": missing field '" + name + "'");
    return j.at(name);
  };
  Checkpoint c;
  try {
    if (field("format") != kFormat) throw CheckpointError(jpath.string() + ": not a workbench checkpoint");
    if (field("version") != kVersion)
      throw CheckpointError(jpath.string() + ": unsupported version " + field("version").dump());
    c.step = field("step").get<int64_t>();
    c.optimizer_steps = field("optimizer_steps").get<int64_t>();
    c.rng = field("rng").get<std::string>();
    c.data_position = field("data_position");
    c.meta = field("meta");
    const auto wnames = field("weights").get<std::vector<std::string>>();
    const auto onames = field("optimizer").get<std::vector<std::string>>();
    SafetensorsFile f(dir / "state.safetensors");
    for (const auto& n : wnames) {
      const auto& info = f.info("weight/" + n);
      c.weights.push_back({n, info.shape, f.read_f32("weight/" + n)});
    }
    for (const auto& n : onames) {
      AdamWSlot s{n, f.read_f32("adam_m/" + n), f.read_f32("adam_v/" + n)};
      if (s.m.size() != s.v.size())
        throw CheckpointError(jpath.string() + ": moments of '" + n + "' differ in size");
      c.optimizer.push_back(std::move(s));
    }
  } catch (const CheckpointError&) {
    throw;
  } catch (const std::exception& e) {
    throw CheckpointError("bad checkpoint " + dir.string() + ": " + e.what());
  }
  if (c.step < 0 || c.optimizer_steps < 0) throw CheckpointError(jpath.string() + ": negative step");
  return c;
}

}  // namespace wb::llama
