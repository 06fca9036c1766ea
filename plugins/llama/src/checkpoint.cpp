#include "wb/llama/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

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

// The step of a complete checkpoint directory, or -1. checkpoint.json is written (fsynced) after
// state.safetensors, so a directory holding a readable checkpoint.json is complete.
int64_t complete_step(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_regular_file(dir / "checkpoint.json", ec) || !fs::is_regular_file(dir / "state.safetensors", ec))
    return -1;
  try {
    const auto j = nlohmann::json::parse(read_text_file(dir / "checkpoint.json"));
    if (!j.is_object() || j.value("format", "") != kFormat || !j.contains("step") || !j["step"].is_number_integer())
      return -1;
    const auto step = j["step"].get<int64_t>();
    return step >= 0 ? step : -1;
  } catch (const std::exception&) {
    return -1;
  }
}

// "<dir>.tmp.<pid>" and "<dir>.old.<pid>" of any process.
std::vector<fs::path> rotation_siblings(const fs::path& dir) {
  std::vector<fs::path> out;
  const fs::path parent = dir.has_parent_path() ? dir.parent_path() : fs::path(".");
  const std::string base = dir.filename().string();
  std::error_code ec;
  for (fs::directory_iterator it(parent, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind(base + ".tmp.", 0) == 0 || name.rfind(base + ".old.", 0) == 0) out.push_back(it->path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Makes a rename durable: fsync the directory holding the entries.
void sync_parent(const fs::path& dir) {
  const fs::path parent = dir.has_parent_path() ? dir.parent_path() : fs::path(".");
  const int fd = ::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

bool recover_checkpoint(const fs::path& dir) {
  fs::path best;
  int64_t best_step = complete_step(dir);
  if (best_step >= 0) best = dir;
  const auto siblings = rotation_siblings(dir);
  for (const auto& s : siblings) {
    const int64_t step = complete_step(s);
    if (step > best_step) {
      best_step = step;
      best = s;
    }
  }
  std::error_code ec;
  if (!best.empty() && best != dir) {
    // Move a stale or incomplete `dir` aside first (a name not matched above), then promote.
    const fs::path aside = dir.string() + ".discard." + std::to_string(::getpid());
    fs::remove_all(aside, ec);
    if (fs::exists(dir, ec)) fs::rename(dir, aside, ec);
    if (ec) throw CheckpointError("cannot recover checkpoint " + dir.string() + ": " + ec.message(), ErrorKind::io);
    fs::rename(best, dir, ec);
    if (ec) throw CheckpointError("cannot recover checkpoint " + dir.string() + ": " + ec.message(), ErrorKind::io);
    sync_parent(dir);
    fs::remove_all(aside, ec);
  }
  for (const auto& s : siblings)
    if (s != best) fs::remove_all(s, ec);
  return !best.empty();
}

bool checkpoint_exists(const fs::path& dir) { return recover_checkpoint(dir); }

void save_checkpoint(const fs::path& dir, const Checkpoint& ckpt) {
  // Leftovers of a killed save first: the newest complete checkpoint becomes `dir`, the rest go.
  recover_checkpoint(dir);
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
      throw CheckpointError("cannot create " + tmp.string() + ": " + ec.message(), write_error_kind(ec.value()));
    // state.safetensors, then checkpoint.json (each fsynced): the json marks the directory complete.
    w.write(tmp / "state.safetensors");
    write_file_atomic(tmp / "checkpoint.json", j.dump(2));
    // Swap. At every instant a complete checkpoint exists under one of the names
    // recover_checkpoint() looks at: `dir`, then `old` (+ complete `tmp`), then `dir` again.
    fs::remove_all(old, ec);
    const bool had_old = fs::exists(dir);
    if (had_old) fs::rename(dir, old);
    try {
      fs::rename(tmp, dir);
    } catch (...) {
      if (had_old) fs::rename(old, dir, ec);
      throw;
    }
    sync_parent(dir);
    if (had_old) fs::remove_all(old, ec);
  } catch (const CheckpointError&) {
    fs::remove_all(tmp, ec);
    throw;
  } catch (const EngineError& e) {
    // A full disk stays no_space (the job is held with the previous checkpoint, not failed).
    fs::remove_all(tmp, ec);
    throw CheckpointError("cannot save checkpoint " + dir.string() + ": " + e.what(),
                          e.kind() == ErrorKind::no_space ? ErrorKind::no_space : ErrorKind::io);
  } catch (const fs::filesystem_error& e) {
    fs::remove_all(tmp, ec);
    throw CheckpointError("cannot save checkpoint " + dir.string() + ": " + e.what(), write_error_kind(e.code().value()));
  } catch (const std::exception& e) {
    fs::remove_all(tmp, ec);
    throw CheckpointError("cannot save checkpoint " + dir.string() + ": " + e.what(), ErrorKind::io);
  }
}

Checkpoint load_checkpoint(const fs::path& dir) {
  recover_checkpoint(dir);
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
