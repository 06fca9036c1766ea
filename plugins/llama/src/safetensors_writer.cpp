// safetensors writer: header as the reference implementation writes it, atomic file write.
#include <algorithm>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "wb/llama/file_io.h"
#include "wb/llama/safetensors.h"

namespace wb::llama {

namespace {

uint64_t checked_numel(const std::string& name, const std::vector<int64_t>& shape) {
  uint64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) throw std::invalid_argument("tensor '" + name + "': negative dimension");
    if (__builtin_mul_overflow(n, static_cast<uint64_t>(d), &n)) {
      throw std::invalid_argument("tensor '" + name + "': shape overflows");
    }
  }
  return n;
}

}  // namespace

void SafetensorsWriter::add(std::string name, DType dtype, std::vector<int64_t> shape,
                            std::span<const uint8_t> bytes) {
  if (name.empty()) throw std::invalid_argument("safetensors tensor name is empty");
  if (name == "__metadata__") {
    throw std::invalid_argument("'__metadata__' is reserved and cannot name a tensor");
  }
  for (const auto& e : tensors_) {
    if (e.name == name) throw std::invalid_argument("tensor '" + name + "' added twice");
  }
  const uint64_t numel = checked_numel(name, shape);
  if (bytes.size() / dtype_size(dtype) != numel || bytes.size() % dtype_size(dtype) != 0) {
    throw std::invalid_argument("tensor '" + name + "': " + std::to_string(bytes.size()) +
                                " bytes given, shape needs " +
                                std::to_string(numel * dtype_size(dtype)));
  }
  tensors_.push_back({std::move(name), dtype, std::move(shape), {bytes.begin(), bytes.end()}});
}

void SafetensorsWriter::add_f32(std::string name, std::vector<int64_t> shape,
                                std::span<const float> data, DType store_as) {
  const uint64_t numel = checked_numel(name, shape);
  if (data.size() != numel) {
    throw std::invalid_argument("tensor '" + name + "': " + std::to_string(data.size()) +
                                " values given, shape needs " + std::to_string(numel));
  }
  std::vector<uint8_t> bytes(data.size() * dtype_size(store_as));
  convert_from_f32(data.data(), store_as, bytes.data(), data.size());
  add(std::move(name), store_as, std::move(shape), bytes);
}

void SafetensorsWriter::set_metadata(std::string key, std::string value) {
  metadata_[std::move(key)] = std::move(value);
}

std::vector<uint8_t> SafetensorsWriter::serialize() const {
  // Data order: larger elements first, then by name, so each tensor is aligned to its type.
  std::vector<const Entry*> order;
  for (const auto& e : tensors_) order.push_back(&e);
  std::sort(order.begin(), order.end(), [](const Entry* a, const Entry* b) {
    if (dtype_size(a->dtype) != dtype_size(b->dtype)) {
      return dtype_size(a->dtype) > dtype_size(b->dtype);
    }
    return a->name < b->name;
  });

  nlohmann::json header = nlohmann::json::object();  // std::map-backed: keys come out sorted
  header["__metadata__"] = metadata_;
  uint64_t offset = 0;
  for (const Entry* e : order) {
    header[e->name] = {{"dtype", std::string(dtype_name(e->dtype))},
                       {"shape", e->shape},
                       {"data_offsets", {offset, offset + e->bytes.size()}}};
    offset += e->bytes.size();
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::json::exception& ex) {
    throw std::invalid_argument(std::string("safetensors header: ") + ex.what());
  }
  text.append((8 - text.size() % 8) % 8, ' ');

  std::vector<uint8_t> out;
  out.reserve(8 + text.size() + offset);
  const uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(n >> (8 * i)));
  out.insert(out.end(), text.begin(), text.end());
  for (const Entry* e : order) out.insert(out.end(), e->bytes.begin(), e->bytes.end());
  return out;
}

void SafetensorsWriter::write(const std::filesystem::path& path) const {
  write_file_atomic(path, serialize());
}

}  // namespace wb::llama
