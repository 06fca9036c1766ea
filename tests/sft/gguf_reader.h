// gguf_reader.h — an independent, minimal GGUF v3 reader for the tests (written from the format
// description, not from the plugin's writer): metadata values and tensor infos + data.
#pragma once

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace sfttest {

struct GgufTensorInfo {
  std::vector<uint64_t> dims;  // innermost first, as stored
  uint32_t type = 0;           // 0 F32, 1 F16
  uint64_t offset = 0;         // from the start of the data section
};

struct GgufFile {
  uint32_t version = 0;
  std::map<std::string, nlohmann::json> meta;  // arrays as JSON arrays
  std::map<std::string, GgufTensorInfo> tensors;
  std::vector<std::string> tensor_order;
  std::string bytes;
  uint64_t data_start = 0;

  static GgufFile read(const std::filesystem::path& p) {
    GgufFile g;
    std::ifstream f(p, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    g.bytes = ss.str();
    size_t pos = 0;
    auto take = [&](size_t n) {
      if (pos + n > g.bytes.size()) throw std::runtime_error("gguf: truncated");
      const char* at = g.bytes.data() + pos;
      pos += n;
      return at;
    };
    auto u32 = [&] { uint32_t v; std::memcpy(&v, take(4), 4); return v; };
    auto u64 = [&] { uint64_t v; std::memcpy(&v, take(8), 8); return v; };
    auto str = [&] { uint64_t n = u64(); return std::string(take(n), n); };
    std::function<nlohmann::json(uint32_t)> value = [&](uint32_t t) -> nlohmann::json {
      switch (t) {
        case 0: return static_cast<uint8_t>(*take(1));
        case 4: return u32();
        case 5: { int32_t v; std::memcpy(&v, take(4), 4); return v; }
        case 6: { float v; std::memcpy(&v, take(4), 4); return v; }
        case 7: return *take(1) != 0;
        case 8: return str();
        case 9: {
          uint32_t et = u32();
          uint64_t n = u64();
          nlohmann::json a = nlohmann::json::array();
          for (uint64_t i = 0; i < n; ++i) a.push_back(value(et));
          return a;
        }
        case 10: return u64();
        default: throw std::runtime_error("gguf: unexpected value type " + std::to_string(t));
      }
    };
    if (std::string(take(4), 4) != "GGUF") throw std::runtime_error("gguf: bad magic");
    g.version = u32();
    const uint64_t n_tensors = u64(), n_kv = u64();
    for (uint64_t i = 0; i < n_kv; ++i) {
      std::string k = str();
      g.meta[k] = value(u32());
    }
    for (uint64_t i = 0; i < n_tensors; ++i) {
      std::string name = str();
      GgufTensorInfo ti;
      const uint32_t nd = u32();
      for (uint32_t d = 0; d < nd; ++d) ti.dims.push_back(u64());
      ti.type = u32();
      ti.offset = u64();
      g.tensors[name] = ti;
      g.tensor_order.push_back(name);
    }
    const uint64_t align = g.meta.count("general.alignment") ? g.meta["general.alignment"].get<uint64_t>() : 32;
    g.data_start = (pos + align - 1) / align * align;
    return g;
  }

  // Tensor data as floats (F32 only).
  std::vector<float> f32(const std::string& name) const {
    const auto& t = tensors.at(name);
    uint64_t n = 1;
    for (auto d : t.dims) n *= d;
    if (t.type != 0) throw std::runtime_error("not f32");
    std::vector<float> out(n);
    if (data_start + t.offset + n * 4 > bytes.size()) throw std::runtime_error("gguf: tensor past the end");
    std::memcpy(out.data(), bytes.data() + data_start + t.offset, n * 4);
    return out;
  }
};

}  // namespace sfttest
