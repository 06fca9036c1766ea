// safetensors: read and write the HF safetensors format (https://github.com/huggingface/safetensors).
//
// File layout: 8-byte little-endian header length N, N bytes of JSON header, then the data
// section. The header maps tensor names to {"dtype","shape","data_offsets":[begin,end]} (offsets
// relative to the start of the data section) plus an optional "__metadata__" string->string map.
//
// Reading validates everything before any tensor is touched: the header length fits the file and
// is below kMaxHeaderBytes, the header is a JSON object, every tensor has a known dtype (F32, F16,
// BF16), a shape of non-negative integers, offsets inside the data section with
// end - begin == product(shape) * dtype_size, and no two tensors overlap. Each violation throws
// SafetensorsError whose message names the file and the tensor. No access reads out of bounds.
//
//   SafetensorsFile f("model.safetensors");
//   std::vector<float> w = f.read_f32("model.embed_tokens.weight");
//
//   SafetensorsSet s = SafetensorsSet::open("/models/llama-2-7b");  // dir, index json or file
//
//   SafetensorsWriter w;
//   w.add_f32("lm_head.weight", {vocab, dim}, data);          // stored as F32
//   w.add_f32("x", {n}, data, DType::BF16);                    // converted on add
//   w.write("out/model.safetensors");                          // temp file + rename
#pragma once

#include "wb/engine_error.h"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "wb/llama/dtype.h"
#include "wb/llama/mapped_file.h"

namespace wb::llama {

// Thrown for every malformed, inconsistent or missing safetensors input.
// An EngineError of kind invalid_input unless the throw site says otherwise (not_found for a missing file or tensor, io when opening fails).
class SafetensorsError : public EngineError {
 public:
  explicit SafetensorsError(const std::string& message, ErrorKind kind = ErrorKind::invalid_input) : EngineError(kind, message) {}
};

// Headers above this size are refused (the reference implementation uses 100 MB).
inline constexpr uint64_t kMaxHeaderBytes = 100'000'000;

// One tensor's header entry. begin/end are byte offsets relative to the data section.
struct TensorInfo {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  uint64_t begin = 0;
  uint64_t end = 0;

  // Product of shape (1 for a scalar, shape []).
  int64_t numel() const;
  uint64_t nbytes() const { return end - begin; }
};

// A tensor's bytes as stored (little-endian, row-major), valid while its file object lives.
struct TensorView {
  const TensorInfo* info = nullptr;
  std::span<const uint8_t> bytes;
};

// One validated safetensors file, memory-mapped (or held in memory). Move-only.
class SafetensorsFile {
 public:
  // Maps and validates `path`. Throws SafetensorsError naming the path, also when the path is
  // missing, a directory or unreadable.
  explicit SafetensorsFile(const std::filesystem::path& path);
  // Validates an in-memory image of a file; `label` names it in error messages.
  static SafetensorsFile from_bytes(std::vector<uint8_t> bytes, std::string label = "<memory>");

  SafetensorsFile(SafetensorsFile&&) noexcept;
  SafetensorsFile& operator=(SafetensorsFile&&) noexcept;
  ~SafetensorsFile();

  // The path (or label) this file was read from.
  const std::string& label() const;
  // "__metadata__" entries (empty when absent).
  const std::map<std::string, std::string>& metadata() const;
  // Every tensor, sorted by name.
  const std::vector<TensorInfo>& tensors() const;

  bool contains(std::string_view name) const;
  // Throws SafetensorsError "<file>: no tensor named '<name>'" when absent.
  const TensorInfo& info(std::string_view name) const;
  TensorView view(std::string_view name) const;

  // The tensor converted to float/double (exact for F16/BF16 -> f32).
  std::vector<float> read_f32(std::string_view name) const;
  std::vector<double> read_f64(std::string_view name) const;
  // Converts into `out`, which must hold exactly numel() elements (else SafetensorsError).
  void read_f32_into(std::string_view name, std::span<float> out) const;

 private:
  struct Impl;
  explicit SafetensorsFile(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A logical set of tensors spread over one or more safetensors files (HF sharding).
class SafetensorsSet {
 public:
  // `path` may be:
  //  - a directory: uses model.safetensors.index.json when present, else model.safetensors;
  //  - an index file (*.index.json): {"metadata": {...}, "weight_map": {tensor: shard file}};
  //    shard paths are relative to the index's folder; every tensor listed must be present in
  //    its shard, and a tensor may appear in only one shard;
  //  - a single .safetensors file.
  // Throws SafetensorsError naming the file/tensor that is missing or inconsistent.
  static SafetensorsSet open(const std::filesystem::path& path);

  SafetensorsSet(SafetensorsSet&&) noexcept;
  SafetensorsSet& operator=(SafetensorsSet&&) noexcept;
  ~SafetensorsSet();

  // All tensor names, sorted.
  std::vector<std::string> names() const;
  size_t size() const;
  bool contains(std::string_view name) const;
  const TensorInfo& info(std::string_view name) const;
  TensorView view(std::string_view name) const;
  std::vector<float> read_f32(std::string_view name) const;
  std::vector<double> read_f64(std::string_view name) const;
  void read_f32_into(std::string_view name, std::span<float> out) const;
  // The shard files, in the order they were opened.
  const std::vector<SafetensorsFile>& files() const;

 private:
  struct Impl;
  explicit SafetensorsSet(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Builds a safetensors file in memory and writes it atomically, byte for byte as the reference
// implementation (safetensors' Rust serialize, used by Python's save_file) lays it out:
// "__metadata__" first ({"format":"pt"} plus any set_metadata() entries, sorted), then the
// tensors ordered by dtype (F32, then BF16, then F16) and by name — i.e. sorted by name when all
// tensors share a dtype — each {"dtype","shape","data_offsets"}; compact JSON padded with spaces
// to a multiple of 8 bytes; data in the same order, so every tensor is aligned to its type.
class SafetensorsWriter {
 public:
  SafetensorsWriter() = default;
  // Move-only: entries may point into their own buffers.
  SafetensorsWriter(SafetensorsWriter&&) = default;
  SafetensorsWriter& operator=(SafetensorsWriter&&) = default;
  SafetensorsWriter(const SafetensorsWriter&) = delete;
  SafetensorsWriter& operator=(const SafetensorsWriter&) = delete;

  // Adds raw little-endian bytes (copied); bytes.size() must equal product(shape)*dtype_size.
  // Throws std::invalid_argument for a duplicate or empty name, a negative dimension, a size
  // mismatch, or the reserved name "__metadata__".
  void add(std::string name, DType dtype, std::vector<int64_t> shape,
           std::span<const uint8_t> bytes);
  // Like add(), without copying: `bytes` must stay valid and unchanged until write()/serialize()
  // has returned (for saving large weights without a second copy in memory).
  void add_borrowed(std::string name, DType dtype, std::vector<int64_t> shape,
                    std::span<const uint8_t> bytes);
  // Adds float data, converted to `store_as`. data.size() must equal product(shape).
  void add_f32(std::string name, std::vector<int64_t> shape, std::span<const float> data,
               DType store_as = DType::F32);
  void set_metadata(std::string key, std::string value);

  size_t size() const { return tensors_.size(); }
  // The complete file image.
  std::vector<uint8_t> serialize() const;
  // Streams the file to a temp file beside `path`, then renames it over `path` (AtomicFile in
  // file_io.h); creates no directories. Throws std::runtime_error naming the path on any I/O
  // failure (the temp file is removed, an existing `path` is untouched).
  void write(const std::filesystem::path& path) const;

 private:
  struct Entry {
    std::string name;
    DType dtype;
    std::vector<int64_t> shape;
    std::vector<uint8_t> owned;
    std::span<const uint8_t> bytes;  // into `owned`, or borrowed
  };
  void check_new(const std::string& name, DType dtype, const std::vector<int64_t>& shape,
                 size_t nbytes) const;
  // Tensors in file order, and the padded header text.
  std::vector<const Entry*> file_order() const;
  std::string header_text(const std::vector<const Entry*>& order) const;

  std::vector<Entry> tensors_;
  std::map<std::string, std::string> metadata_{{"format", "pt"}};
};

}  // namespace wb::llama
