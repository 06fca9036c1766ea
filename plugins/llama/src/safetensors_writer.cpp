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

void SafetensorsWriter::check_new(const std::string& name, DType dtype,
                                  const std::vector<int64_t>& shape, size_t nbytes) const {
  if (name.empty()) throw std::invalid_argument("safetensors tensor name is empty");
  if (name == "__metadata__") {
    throw std::invalid_argument("'__metadata__' is reserved and cannot name a tensor");
  }
  for (const auto& e : tensors_) {
    if (e.name == name) throw std::invalid_argument("tensor '" + name + "' added twice");
  }
  const uint64_t numel = checked_numel(name, shape);
  if (nbytes / dtype_size(dtype) != numel || nbytes % dtype_size(dtype) != 0) {
    throw std::invalid_argument("tensor '" + name + "': " + std::to_string(nbytes) +
                                " bytes given, shape needs " +
                                std::to_string(numel * dtype_size(dtype)));
  }
}

void SafetensorsWriter::add(std::string name, DType dtype, std::vector<int64_t> shape,
                            std::span<const uint8_t> bytes) {
  check_new(name, dtype, shape, bytes.size());
  Entry& e = tensors_.emplace_back();
  e.name = std::move(name);
  e.dtype = dtype;
  e.shape = std::move(shape);
  e.owned.assign(bytes.begin(), bytes.end());
  e.bytes = e.owned;
}

void SafetensorsWriter::add_borrowed(std::string name, DType dtype, std::vector<int64_t> shape,
                                     std::span<const uint8_t> bytes) {
  check_new(name, dtype, shape, bytes.size());
  Entry& e = tensors_.emplace_back();
  e.name = std::move(name);
  e.dtype = dtype;
  e.shape = std::move(shape);
  e.bytes = bytes;
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

namespace {

// The reference implementation orders tensors by dtype, descending in its Dtype enum
// (F32 > BF16 > F16), then by name; header and data follow that order, so every tensor starts
// aligned to its element size.
int dtype_rank(DType t) {
  switch (t) {
    case DType::F32: return 2;
    case DType::BF16: return 1;
    case DType::F16: return 0;
  }
  return 0;
}

}  // namespace

std::vector<const SafetensorsWriter::Entry*> SafetensorsWriter::file_order() const {
  std::vector<const Entry*> order;
  for (const auto& e : tensors_) order.push_back(&e);
  std::sort(order.begin(), order.end(), [](const Entry* a, const Entry* b) {
    if (dtype_rank(a->dtype) != dtype_rank(b->dtype)) {
      return dtype_rank(a->dtype) > dtype_rank(b->dtype);
    }
    return a->name < b->name;
  });
  return order;
}

std::string SafetensorsWriter::header_text(const std::vector<const Entry*>& order) const {
  // ordered_json keeps insertion order: "__metadata__" first, then the tensors in file order,
  // each as {"dtype","shape","data_offsets"} (the reference's field order).
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  header["__metadata__"] = nlohmann::ordered_json(metadata_);
  uint64_t offset = 0;
  for (const Entry* e : order) {
    nlohmann::ordered_json info = nlohmann::ordered_json::object();
    info["dtype"] = std::string(dtype_name(e->dtype));
    info["shape"] = e->shape;
    info["data_offsets"] = {offset, offset + e->bytes.size()};
    header[e->name] = std::move(info);
    offset += e->bytes.size();
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::ordered_json::exception& ex) {
    throw std::invalid_argument(std::string("safetensors header: ") + ex.what());
  }
  text.append((8 - text.size() % 8) % 8, ' ');
  return text;
}

namespace {

std::string length_prefix(uint64_t n) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(n >> (8 * i));
  return out;
}

}  // namespace

std::vector<uint8_t> SafetensorsWriter::serialize() const {
  const auto order = file_order();
  const std::string text = length_prefix(0) + header_text(order);
  std::vector<uint8_t> out(text.begin(), text.end());
  const std::string len = length_prefix(text.size() - 8);
  std::copy(len.begin(), len.end(), out.begin());
  for (const Entry* e : order) out.insert(out.end(), e->bytes.begin(), e->bytes.end());
  return out;
}

void SafetensorsWriter::write(const std::filesystem::path& path) const {
  const auto order = file_order();
  const std::string text = header_text(order);
  AtomicFile f(path);
  f.append(length_prefix(text.size()));
  f.append(text);
  for (const Entry* e : order) f.append(e->bytes);
  f.commit();
}

}  // namespace wb::llama
