// Base model and scalar head <-> HF directory / safetensors, through the formats layer.
#include "wb/llama/model_io.h"

#include <span>
#include <stdexcept>
#include <vector>

#include "wb/llama/finite.h"
#include "wb/llama/hf_config.h"
#include "wb/llama/safetensors.h"

namespace wb::llama {

namespace {

std::string shape_str(const std::vector<int64_t>& s) { return Tensor<float>(s).shape_string(); }

// Reads `name` from `set` into `t` (shape already set), converting to T.
template <typename T, typename Set>
void read_into(const Set& set, const std::string& name, Tensor<T>& t, const std::string& where) {
  if (!set.contains(name))
    throw std::invalid_argument(where + ": missing tensor '" + name + "'");
  const TensorInfo& info = set.info(name);
  if (info.shape != t.shape)
    throw std::invalid_argument(where + ": tensor '" + name + "' has shape " +
                                shape_str(info.shape) + ", the config needs " + t.shape_string());
  if constexpr (std::is_same_v<T, float>) {
    set.read_f32_into(name, std::span<float>(t.data));
  } else {
    std::vector<double> v = set.read_f64(name);
    for (size_t i = 0; i < v.size(); ++i) t.data[i] = static_cast<T>(v[i]);
  }
  if (auto bad = non_finite_message(std::span<const T>(t.data), where, name); !bad.empty())
    throw std::invalid_argument(bad);
}

template <typename T>
std::vector<float> as_f32(const Tensor<T>& t) {
  return std::vector<float>(t.data.begin(), t.data.end());
}

}  // namespace

template <typename T>
Model<T> load_model(const std::filesystem::path& dir) {
  Model<T> m;
  m.config = load_hf_config(dir);
  m.weights = Weights<T>::zeros(m.config);
  const SafetensorsSet set = SafetensorsSet::open(dir);
  const std::string where = dir.string();
  m.weights.for_each(
      [&](const std::string& name, Tensor<T>& t) { read_into(set, name, t, where); });
  return m;
}

template <typename T>
void save_model(const std::filesystem::path& dir, const Model<T>& m, DType store_as) {
  m.weights.check_shapes(m.config);
  std::filesystem::create_directories(dir);
  LlamaConfig c = m.config;
  c.torch_dtype = std::string(dtype_torch_name(store_as));
  SafetensorsWriter w;
  m.weights.for_each([&](const std::string& name, const Tensor<T>& t) {
    const std::vector<float> f = as_f32(t);
    w.add_f32(name, t.shape, f, store_as);
  });
  w.write(dir / "model.safetensors");
  save_hf_config(c, dir / "config.json");
}

template <typename T>
void save_head(const std::filesystem::path& file, const ScalarHead<T>& head) {
  SafetensorsWriter w;
  head.for_each([&](const std::string& name, const Tensor<T>& t) {
    const std::vector<float> f = as_f32(t);
    w.add_f32(name, t.shape, f);
  });
  w.write(file);
}

template <typename T>
ScalarHead<T> load_head(const std::filesystem::path& file, int64_t hidden) {
  ScalarHead<T> h = ScalarHead<T>::zeros(hidden);
  const SafetensorsFile f(file);
  h.for_each([&](const std::string& name, Tensor<T>& t) { read_into(f, name, t, file.string()); });
  return h;
}

template Model<float> load_model<float>(const std::filesystem::path&);
template Model<double> load_model<double>(const std::filesystem::path&);
template void save_model<float>(const std::filesystem::path&, const Model<float>&, DType);
template void save_model<double>(const std::filesystem::path&, const Model<double>&, DType);
template void save_head<float>(const std::filesystem::path&, const ScalarHead<float>&);
template void save_head<double>(const std::filesystem::path&, const ScalarHead<double>&);
template ScalarHead<float> load_head<float>(const std::filesystem::path&, int64_t);
template ScalarHead<double> load_head<double>(const std::filesystem::path&, int64_t);

}  // namespace wb::llama
