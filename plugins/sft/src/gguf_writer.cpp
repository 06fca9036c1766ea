#include "gguf_writer.h"

#include <cstring>
#include <fstream>
#include <stdexcept>

#include "wb/llama/dtype.h"

namespace wb::sft {
namespace {

template <typename T>
void put(std::vector<uint8_t>& out, T v) {
  uint8_t b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));  // the host is little-endian (x86-64, aarch64)
  out.insert(out.end(), b, b + sizeof(T));
}

void put_string(std::vector<uint8_t>& out, const std::string& s) {
  put<uint64_t>(out, s.size());
  out.insert(out.end(), s.begin(), s.end());
}

uint64_t align_up(uint64_t n) { return (n + kGgufAlignment - 1) / kGgufAlignment * kGgufAlignment; }

}  // namespace

void GgufWriter::key(const std::string& k, GgufValueType t) {
  put_string(meta_, k);
  put<uint32_t>(meta_, static_cast<uint32_t>(t));
  ++meta_count_;
}

void GgufWriter::add_string(const std::string& k, const std::string& v) {
  key(k, GgufValueType::STRING);
  put_string(meta_, v);
}
void GgufWriter::add_u32(const std::string& k, uint32_t v) {
  key(k, GgufValueType::U32);
  put(meta_, v);
}
void GgufWriter::add_i32(const std::string& k, int32_t v) {
  key(k, GgufValueType::I32);
  put(meta_, v);
}
void GgufWriter::add_f32(const std::string& k, float v) {
  key(k, GgufValueType::F32);
  put(meta_, v);
}
void GgufWriter::add_bool(const std::string& k, bool v) {
  key(k, GgufValueType::BOOL);
  put<uint8_t>(meta_, v ? 1 : 0);
}
void GgufWriter::add_string_array(const std::string& k, const std::vector<std::string>& v) {
  key(k, GgufValueType::ARRAY);
  put<uint32_t>(meta_, static_cast<uint32_t>(GgufValueType::STRING));
  put<uint64_t>(meta_, v.size());
  for (const auto& s : v) put_string(meta_, s);
}
void GgufWriter::add_f32_array(const std::string& k, const std::vector<float>& v) {
  key(k, GgufValueType::ARRAY);
  put<uint32_t>(meta_, static_cast<uint32_t>(GgufValueType::F32));
  put<uint64_t>(meta_, v.size());
  for (float x : v) put(meta_, x);
}
void GgufWriter::add_i32_array(const std::string& k, const std::vector<int32_t>& v) {
  key(k, GgufValueType::ARRAY);
  put<uint32_t>(meta_, static_cast<uint32_t>(GgufValueType::I32));
  put<uint64_t>(meta_, v.size());
  for (int32_t x : v) put(meta_, x);
}

void GgufWriter::add_tensor(const std::string& name, const std::vector<int64_t>& shape, const std::vector<float>& data,
                            GgufType type) {
  int64_t numel = 1;
  for (int64_t d : shape) numel *= d;
  if (shape.empty() || numel != static_cast<int64_t>(data.size()))
    throw std::invalid_argument("gguf tensor '" + name + "': data size does not match its shape");
  Tensor t{name, shape, type, {}};
  if (type == GgufType::F32) {
    t.bytes.resize(data.size() * 4);
    std::memcpy(t.bytes.data(), data.data(), t.bytes.size());
  } else {
    t.bytes.reserve(data.size() * 2);
    for (float x : data) put<uint16_t>(t.bytes, llama::f32_to_f16(x));
  }
  tensors_.push_back(std::move(t));
}

void GgufWriter::write(const std::filesystem::path& path) const {
  std::vector<uint8_t> head;
  head.insert(head.end(), {'G', 'G', 'U', 'F'});
  put<uint32_t>(head, kGgufVersion);
  put<uint64_t>(head, tensors_.size());
  put<uint64_t>(head, meta_count_);
  head.insert(head.end(), meta_.begin(), meta_.end());
  uint64_t offset = 0;
  for (const auto& t : tensors_) {
    put_string(head, t.name);
    put<uint32_t>(head, static_cast<uint32_t>(t.shape.size()));
    for (auto it = t.shape.rbegin(); it != t.shape.rend(); ++it) put<uint64_t>(head, static_cast<uint64_t>(*it));
    put<uint32_t>(head, static_cast<uint32_t>(t.type));
    put<uint64_t>(head, offset);
    offset = align_up(offset + t.bytes.size());
  }
  head.resize(align_up(head.size()), 0);

  const std::filesystem::path tmp = path.string() + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) throw std::runtime_error("cannot write " + tmp.string());
    f.write(reinterpret_cast<const char*>(head.data()), static_cast<std::streamsize>(head.size()));
    static const char zeros[kGgufAlignment] = {};
    for (const auto& t : tensors_) {
      f.write(reinterpret_cast<const char*>(t.bytes.data()), static_cast<std::streamsize>(t.bytes.size()));
      const uint64_t pad = align_up(t.bytes.size()) - t.bytes.size();
      f.write(zeros, static_cast<std::streamsize>(pad));
    }
    f.flush();
    if (!f) throw std::runtime_error("write failed: " + tmp.string());
  }
  std::filesystem::rename(tmp, path);
}

}  // namespace wb::sft
