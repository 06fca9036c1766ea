// gguf_writer.h — a writer of GGUF v3 files (the llama.cpp / ggml container).
//
// Layout (little-endian): "GGUF", version u32 = 3, tensor count u64, metadata count u64; the
// metadata as (key string, value type u32, value); the tensor infos as (name string, n_dims u32,
// dims u64[n_dims] innermost first, ggml type u32, data offset u64); zero padding to the
// alignment (general.alignment, 32); then each tensor's data at its offset, aligned. A string is
// u64 length + bytes (no NUL).
//
//   GgufWriter w;
//   w.add_string("general.architecture", "llama");
//   w.add_u32("llama.block_count", 4);
//   w.add_tensor("token_embd.weight", {vocab, dim}, data, GgufType::F16);   // row-major shape
//   w.write("model.gguf");                                                  // temp file + rename
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace wb::sft {

// GGUF metadata value types.
enum class GgufValueType : uint32_t {
  U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, BOOL = 7, STRING = 8, ARRAY = 9,
  U64 = 10, I64 = 11, F64 = 12
};

// ggml tensor types this writer stores.
enum class GgufType : uint32_t { F32 = 0, F16 = 1 };

inline constexpr uint32_t kGgufVersion = 3;
inline constexpr uint64_t kGgufAlignment = 32;

class GgufWriter {
 public:
  void add_string(const std::string& key, const std::string& value);
  void add_u32(const std::string& key, uint32_t value);
  void add_i32(const std::string& key, int32_t value);
  void add_f32(const std::string& key, float value);
  void add_bool(const std::string& key, bool value);
  void add_string_array(const std::string& key, const std::vector<std::string>& values);
  void add_f32_array(const std::string& key, const std::vector<float>& values);
  void add_i32_array(const std::string& key, const std::vector<int32_t>& values);

  // `shape` is row-major (outermost first, as safetensors writes it); the file stores it
  // innermost first. data holds product(shape) floats, converted to `type` here.
  void add_tensor(const std::string& name, const std::vector<int64_t>& shape, const std::vector<float>& data,
                  GgufType type);

  // Writes the file (temp sibling + rename). Throws std::runtime_error naming the path on failure.
  void write(const std::filesystem::path& path) const;

 private:
  struct Tensor {
    std::string name;
    std::vector<int64_t> shape;
    GgufType type;
    std::vector<uint8_t> bytes;
  };
  std::vector<uint8_t> meta_;  // encoded key/value pairs
  uint64_t meta_count_ = 0;
  std::vector<Tensor> tensors_;
  void key(const std::string& k, GgufValueType t);
};

}  // namespace wb::sft
