// safetensors reader: header validation, tensor access, sharded sets.
#include "wb/llama/safetensors.h"

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <unordered_map>
#include <variant>

#include "wb/json/parse.h"
#include "wb/llama/file_io.h"

namespace wb::llama {

using nlohmann::json;

int64_t TensorInfo::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

namespace {

[[noreturn]] void fail(const std::string& label, const std::string& what) {
  throw SafetensorsError(label + ": " + what);
}

uint64_t read_u64_le(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// A JSON value as a non-negative integer that fits uint64, or nullopt.
std::optional<uint64_t> as_u64(const json& v) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer()) {
    const int64_t i = v.get<int64_t>();
    if (i >= 0) return static_cast<uint64_t>(i);
  }
  return std::nullopt;
}

TensorInfo parse_tensor(const std::string& label, const std::string& name, const json& v,
                        uint64_t data_size) {
  const std::string where = "tensor '" + name + "'";
  if (!v.is_object()) fail(label, where + ": entry is not an object");
  for (auto it = v.begin(); it != v.end(); ++it) {
    if (it.key() != "dtype" && it.key() != "shape" && it.key() != "data_offsets") {
      fail(label, where + ": unknown field '" + it.key() + "'");
    }
  }
  TensorInfo t;
  t.name = name;

  auto dt = v.find("dtype");
  if (dt == v.end()) fail(label, where + ": missing 'dtype'");
  if (!dt->is_string()) fail(label, where + ": 'dtype' is not a string");
  auto parsed = dtype_from_name(dt->get_ref<const std::string&>());
  if (!parsed) {
    fail(label, where + ": unsupported dtype '" + dt->get<std::string>() +
                    "' (supported: F32, F16, BF16)");
  }
  t.dtype = *parsed;

  auto sh = v.find("shape");
  if (sh == v.end()) fail(label, where + ": missing 'shape'");
  if (!sh->is_array()) fail(label, where + ": 'shape' is not an array");
  uint64_t numel = 1;
  for (const auto& d : *sh) {
    auto dim = as_u64(d);
    if (!dim || *dim > static_cast<uint64_t>(INT64_MAX)) {
      fail(label, where + ": 'shape' holds " + d.dump() + ", not a non-negative integer");
    }
    if (__builtin_mul_overflow(numel, *dim, &numel)) fail(label, where + ": shape overflows");
    t.shape.push_back(static_cast<int64_t>(*dim));
  }
  uint64_t nbytes = 0;
  if (__builtin_mul_overflow(numel, static_cast<uint64_t>(dtype_size(t.dtype)), &nbytes) ||
      numel > static_cast<uint64_t>(INT64_MAX)) {
    fail(label, where + ": shape overflows");
  }

  auto off = v.find("data_offsets");
  if (off == v.end()) fail(label, where + ": missing 'data_offsets'");
  if (!off->is_array() || off->size() != 2) {
    fail(label, where + ": 'data_offsets' is not a [begin, end] pair");
  }
  auto b = as_u64((*off)[0]);
  auto e = as_u64((*off)[1]);
  if (!b || !e) fail(label, where + ": 'data_offsets' are not non-negative integers");
  if (*e < *b) fail(label, where + ": data_offsets end < begin");
  if (*e > data_size) {
    fail(label, where + ": data_offsets [" + std::to_string(*b) + ", " + std::to_string(*e) +
                    ") extend past the data section (" + std::to_string(data_size) + " bytes)");
  }
  if (*e - *b != nbytes) {
    fail(label, where + ": data_offsets span " + std::to_string(*e - *b) + " bytes but shape " +
                    sh->dump() + " of " + std::string(dtype_name(t.dtype)) + " needs " +
                    std::to_string(nbytes));
  }
  t.begin = *b;
  t.end = *e;
  return t;
}

}  // namespace

struct SafetensorsFile::Impl {
  std::string label;
  std::variant<std::monostate, MappedFile, std::vector<uint8_t>> storage;
  const uint8_t* data = nullptr;  // start of the data section
  uint64_t data_size = 0;
  std::map<std::string, std::string> metadata;
  std::vector<TensorInfo> tensors;  // sorted by name
  std::unordered_map<std::string, size_t> index;

  void parse(std::span<const uint8_t> file);
  // After a tensor's bytes were copied out (read_f32/read_f64/read_f32_into): a mapped file's
  // pages of it leave the resident set, so loading a model never holds the file beside its copy
  // (a model read this way would otherwise peak at file + weights until the file is closed).
  void done_with(std::span<const uint8_t> bytes) const {
    if (const MappedFile* m = std::get_if<MappedFile>(&storage)) m->drop_pages(bytes);
  }
  const TensorInfo& info(std::string_view name) const {
    auto it = index.find(std::string(name));
    if (it == index.end()) fail(label, "no tensor named '" + std::string(name) + "'");
    return tensors[it->second];
  }
};

void SafetensorsFile::Impl::parse(std::span<const uint8_t> file) {
  if (file.size() < 8) {
    fail(label, "file is " + std::to_string(file.size()) +
                    " bytes, too short for the 8-byte header length");
  }
  const uint64_t n = read_u64_le(file.data());
  if (n > kMaxHeaderBytes) {
    // The number is the file's first bytes: never echo it (the file may be anything).
    fail(label, "not a safetensors file: its first 8 bytes do not give a header length within the limit of " +
                    std::to_string(kMaxHeaderBytes) + " bytes");
  }
  if (n > file.size() - 8) {
    fail(label, "not a safetensors file: its first 8 bytes do not give a header length within the file size (" +
                    std::to_string(file.size()) + " bytes)");
  }
  const char* text = reinterpret_cast<const char*>(file.data() + 8);
  data = file.data() + 8 + n;
  data_size = file.size() - 8 - n;

  // Duplicate top-level keys are an error (nlohmann would silently keep the last one).
  std::set<std::string> seen;
  std::string duplicate;
  json::parser_callback_t cb = [&](int depth, json::parse_event_t ev, json& parsed) {
    if (ev == json::parse_event_t::key && depth == 1 && duplicate.empty()) {
      const auto& k = parsed.get_ref<const std::string&>();
      if (!seen.insert(k).second) duplicate = k;
    }
    return true;
  };
  json header;
  try {
    header = json::parse(text, text + n, cb);
  } catch (const json::exception& e) {
    fail(label, "header is not valid JSON: " + wb::json_error_text(e));
  }
  if (!duplicate.empty()) fail(label, "header lists '" + duplicate + "' twice");
  if (!header.is_object()) fail(label, "header is not a JSON object");

  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (!it->is_object()) fail(label, "__metadata__ is not an object");
      for (auto m = it->begin(); m != it->end(); ++m) {
        if (!m->is_string()) fail(label, "__metadata__ '" + m.key() + "' is not a string");
        metadata[m.key()] = m->get<std::string>();
      }
      continue;
    }
    tensors.push_back(parse_tensor(label, it.key(), *it, data_size));
  }
  std::sort(tensors.begin(), tensors.end(),
            [](const TensorInfo& a, const TensorInfo& b) { return a.name < b.name; });
  for (size_t i = 0; i < tensors.size(); ++i) index.emplace(tensors[i].name, i);

  // No two tensors may share bytes (empty tensors own no bytes).
  std::vector<const TensorInfo*> by_offset;
  for (const auto& t : tensors) {
    if (t.end > t.begin) by_offset.push_back(&t);
  }
  std::sort(by_offset.begin(), by_offset.end(),
            [](const TensorInfo* a, const TensorInfo* b) { return a->begin < b->begin; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    if (by_offset[i]->begin < by_offset[i - 1]->end) {
      fail(label, "tensor '" + by_offset[i]->name + "' overlaps tensor '" +
                      by_offset[i - 1]->name + "'");
    }
  }
}

SafetensorsFile::SafetensorsFile(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

SafetensorsFile::SafetensorsFile(const std::filesystem::path& path)
    : impl_(std::make_unique<Impl>()) {
  impl_->label = path.string();
  MappedFile* mapped = nullptr;
  try {
    mapped = &impl_->storage.emplace<MappedFile>(path);
  } catch (const std::runtime_error& e) {
    throw SafetensorsError(e.what(), ErrorKind::io);  // "cannot open <path>: <reason>"
  }
  impl_->parse(mapped->bytes());
}

SafetensorsFile SafetensorsFile::from_bytes(std::vector<uint8_t> bytes, std::string label) {
  auto impl = std::make_unique<Impl>();
  impl->label = std::move(label);
  auto& owned = impl->storage.emplace<std::vector<uint8_t>>(std::move(bytes));
  impl->parse(owned);
  return SafetensorsFile(std::move(impl));
}

SafetensorsFile::SafetensorsFile(SafetensorsFile&&) noexcept = default;
SafetensorsFile& SafetensorsFile::operator=(SafetensorsFile&&) noexcept = default;
SafetensorsFile::~SafetensorsFile() = default;

const std::string& SafetensorsFile::label() const { return impl_->label; }
const std::map<std::string, std::string>& SafetensorsFile::metadata() const {
  return impl_->metadata;
}
const std::vector<TensorInfo>& SafetensorsFile::tensors() const { return impl_->tensors; }

bool SafetensorsFile::contains(std::string_view name) const {
  return impl_->index.count(std::string(name)) != 0;
}

const TensorInfo& SafetensorsFile::info(std::string_view name) const { return impl_->info(name); }

TensorView SafetensorsFile::view(std::string_view name) const {
  const TensorInfo& t = impl_->info(name);
  return {&t, {impl_->data + t.begin, static_cast<size_t>(t.nbytes())}};
}

std::vector<float> SafetensorsFile::read_f32(std::string_view name) const {
  const TensorView v = view(name);
  std::vector<float> out(static_cast<size_t>(v.info->numel()));
  convert_to_f32(v.info->dtype, v.bytes.data(), out.data(), out.size());
  impl_->done_with(v.bytes);
  return out;
}

std::vector<double> SafetensorsFile::read_f64(std::string_view name) const {
  const TensorView v = view(name);
  std::vector<double> out(static_cast<size_t>(v.info->numel()));
  convert_to_f64(v.info->dtype, v.bytes.data(), out.data(), out.size());
  impl_->done_with(v.bytes);
  return out;
}

void SafetensorsFile::read_f32_into(std::string_view name, std::span<float> out) const {
  const TensorView v = view(name);
  if (out.size() != static_cast<size_t>(v.info->numel())) {
    fail(impl_->label, "tensor '" + std::string(name) + "' has " +
                           std::to_string(v.info->numel()) + " elements, destination holds " +
                           std::to_string(out.size()));
  }
  convert_to_f32(v.info->dtype, v.bytes.data(), out.data(), out.size());
  impl_->done_with(v.bytes);
}

// ---- sharded sets -------------------------------------------------------------------------

struct SafetensorsSet::Impl {
  std::vector<SafetensorsFile> files;
  std::map<std::string, size_t, std::less<>> where;  // tensor -> file index

  const SafetensorsFile& file_of(std::string_view name) const {
    auto it = where.find(name);
    if (it == where.end()) {
      throw SafetensorsError("no tensor named '" + std::string(name) + "' in " +
                             (files.empty() ? std::string("the set") : files.front().label()) +
                             (files.size() > 1 ? " (and its other shards)" : ""), ErrorKind::not_found);
    }
    return files[it->second];
  }
};

namespace {

// A shard name from an index must stay inside the index's folder.
bool safe_relative(const std::filesystem::path& p) {
  if (p.empty() || p.is_absolute()) return false;
  for (const auto& part : p) {
    if (part == "..") return false;
  }
  return true;
}

}  // namespace

SafetensorsSet SafetensorsSet::open(const std::filesystem::path& path) {
  namespace fs = std::filesystem;
  auto impl = std::make_unique<Impl>();
  fs::path target = path;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    if (fs::exists(path / "model.safetensors.index.json")) {
      target = path / "model.safetensors.index.json";
    } else if (fs::exists(path / "model.safetensors")) {
      target = path / "model.safetensors";
    } else {
      throw SafetensorsError(path.string() + ": no model.safetensors or model.safetensors.index.json",
                             ErrorKind::not_found);
    }
  } else if (!fs::exists(path, ec)) {
    throw SafetensorsError(path.string() + ": no such file or directory", ErrorKind::not_found);
  }

  const std::string name = target.filename().string();
  const bool is_index = name.size() >= 11 && name.compare(name.size() - 11, 11, ".index.json") == 0;
  if (!is_index) {
    impl->files.emplace_back(target);
    for (const auto& t : impl->files.front().tensors()) impl->where.emplace(t.name, 0);
    return SafetensorsSet(std::move(impl));
  }

  const std::string label = target.string();
  json index;
  try {
    index = json::parse(read_text_file(target));
  } catch (const json::exception& e) {
    fail(label, std::string("not valid JSON: ") + e.what());
  } catch (const std::runtime_error& e) {
    throw SafetensorsError(e.what(), ErrorKind::io);
  }
  if (!index.is_object()) fail(label, "not a JSON object");
  auto wm = index.find("weight_map");
  if (wm == index.end()) fail(label, "missing 'weight_map'");
  if (!wm->is_object()) fail(label, "'weight_map' is not an object");
  if (wm->empty()) fail(label, "'weight_map' is empty");

  std::map<std::string, size_t> shard_index;  // shard file name -> files index
  for (auto it = wm->begin(); it != wm->end(); ++it) {
    if (!it->is_string()) fail(label, "weight_map['" + it.key() + "'] is not a string");
    const std::string shard = it->get<std::string>();
    if (!safe_relative(shard)) {
      fail(label, "weight_map['" + it.key() + "'] = '" + shard +
                      "' is not a file name inside the model folder");
    }
    auto [pos, inserted] = shard_index.emplace(shard, impl->files.size());
    if (inserted) {
      const fs::path shard_path = target.parent_path() / shard;
      if (!fs::exists(shard_path, ec)) {
        fail(label, "shard '" + shard + "' (for tensor '" + it.key() + "') does not exist");
      }
      impl->files.emplace_back(shard_path);
    }
    const SafetensorsFile& f = impl->files[pos->second];
    if (!f.contains(it.key())) {
      fail(label, "tensor '" + it.key() + "' is mapped to '" + shard + "' but is not in it");
    }
    impl->where.emplace(it.key(), pos->second);
  }
  return SafetensorsSet(std::move(impl));
}

SafetensorsSet::SafetensorsSet(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SafetensorsSet::SafetensorsSet(SafetensorsSet&&) noexcept = default;
SafetensorsSet& SafetensorsSet::operator=(SafetensorsSet&&) noexcept = default;
SafetensorsSet::~SafetensorsSet() = default;

std::vector<std::string> SafetensorsSet::names() const {
  std::vector<std::string> out;
  out.reserve(impl_->where.size());
  for (const auto& [n, _] : impl_->where) out.push_back(n);
  return out;
}
size_t SafetensorsSet::size() const { return impl_->where.size(); }
bool SafetensorsSet::contains(std::string_view name) const {
  return impl_->where.find(name) != impl_->where.end();
}
const TensorInfo& SafetensorsSet::info(std::string_view name) const {
  return impl_->file_of(name).info(name);
}
TensorView SafetensorsSet::view(std::string_view name) const {
  return impl_->file_of(name).view(name);
}
std::vector<float> SafetensorsSet::read_f32(std::string_view name) const {
  return impl_->file_of(name).read_f32(name);
}
std::vector<double> SafetensorsSet::read_f64(std::string_view name) const {
  return impl_->file_of(name).read_f64(name);
}
void SafetensorsSet::read_f32_into(std::string_view name, std::span<float> out) const {
  impl_->file_of(name).read_f32_into(name, out);
}
const std::vector<SafetensorsFile>& SafetensorsSet::files() const { return impl_->files; }

}  // namespace wb::llama
