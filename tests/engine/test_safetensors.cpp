// safetensors: writer layout (byte-exact against the reference format), round trips, sharded
// sets, and a clear error for each kind of malformed file.
#include <catch2/catch.hpp>
#include <cstring>
#include <nlohmann/json.hpp>

#include "formats_test_util.h"
#include "wb/llama/safetensors.h"

using namespace wb::llama;
using wb::test::FormatsScratch;

namespace {

// A file image from a header string and raw data, as a hand-made (possibly broken) file.
std::vector<uint8_t> image(const std::string& header, const std::vector<uint8_t>& data,
                           uint64_t header_len_override = UINT64_MAX) {
  std::vector<uint8_t> out(8);
  const uint64_t n = header_len_override == UINT64_MAX ? header.size() : header_len_override;
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(n >> (8 * i));
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

std::string load_error(const std::vector<uint8_t>& bytes) {
  try {
    SafetensorsFile::from_bytes(bytes, "test.safetensors");
  } catch (const SafetensorsError& e) {
    return e.what();
  }
  return "";
}

std::vector<uint8_t> f32_bytes(std::initializer_list<float> v) {
  std::vector<uint8_t> out(v.size() * 4);
  std::memcpy(out.data(), std::data(v), out.size());
  return out;
}

}  // namespace

TEST_CASE("safetensors writer: byte layout of the reference implementation", "[safetensors]") {
  SafetensorsWriter w;
  const float a[] = {1.0f, 2.0f};
  w.add_f32("a", {2}, a);
  const auto bytes = w.serialize();
  // What safetensors' save_file writes for {"a": tensor([1., 2.])}: compact JSON with
  // __metadata__ first and {"dtype","shape","data_offsets"}, padded with spaces to 8 bytes.
  std::string header =
      R"({"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  header.append((8 - header.size() % 8) % 8, ' ');
  const auto expected = image(header, f32_bytes({1.0f, 2.0f}));
  CHECK(bytes == expected);
}

TEST_CASE("safetensors writer: order, alignment, round trip of every dtype", "[safetensors]") {
  FormatsScratch dir;
  SafetensorsWriter w;
  std::vector<float> big(3 * 5);
  for (size_t i = 0; i < big.size(); ++i) big[i] = 0.25f * static_cast<float>(i) - 1.0f;
  const float one[] = {3.5f};
  const float three[] = {1.0f, -2.0f, 0.5f};
  w.add_f32("z.f16", {3}, three, DType::F16);  // 6 bytes: would misalign a later F32 if first
  w.add_f32("m.bf16", {3}, three, DType::BF16);
  w.add_f32("b.weight", {3, 5}, big);
  w.add_f32("a.scalar", {}, one);
  w.add_f32("empty", {0, 4}, std::span<const float>());
  w.set_metadata("note", "hello");
  const auto path = dir / "model.safetensors";
  w.write(path);
  CHECK_FALSE(std::filesystem::exists(dir / "model.safetensors.tmp"));

  const auto bytes = wb::test::read_file_bytes(path);
  CHECK(bytes == w.serialize());  // streamed write == in-memory image
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | bytes[i];
  CHECK(n % 8 == 0);
  const std::string header(bytes.begin() + 8, bytes.begin() + 8 + n);
  CHECK(header.rfind(R"({"__metadata__":{"format":"pt","note":"hello"},"a.scalar":)", 0) == 0);
  // F32 tensors (by name), then BF16, then F16.
  CHECK(header.find("\"a.scalar\"") < header.find("\"b.weight\""));
  CHECK(header.find("\"empty\"") < header.find("\"m.bf16\""));
  CHECK(header.find("\"m.bf16\"") < header.find("\"z.f16\""));

  SafetensorsFile f(path);
  CHECK(f.metadata().at("format") == "pt");
  CHECK(f.metadata().at("note") == "hello");
  REQUIRE(f.tensors().size() == 5);
  CHECK(f.tensors()[0].name == "a.scalar");  // tensors() sorted by name
  for (const auto& t : f.tensors()) CHECK(t.begin % dtype_size(t.dtype) == 0);
  CHECK(f.info("b.weight").shape == std::vector<int64_t>{3, 5});
  CHECK(f.info("a.scalar").shape.empty());
  CHECK(f.info("a.scalar").numel() == 1);
  CHECK(f.read_f32("b.weight") == big);
  CHECK(f.read_f32("a.scalar") == std::vector<float>{3.5f});
  CHECK(f.read_f32("m.bf16") == std::vector<float>{1.0f, -2.0f, 0.5f});
  CHECK(f.read_f64("z.f16") == std::vector<double>{1.0, -2.0, 0.5});
  CHECK(f.read_f32("empty").empty());
  CHECK(f.info("z.f16").dtype == DType::F16);
  CHECK(f.view("m.bf16").bytes.size() == 6);
  std::vector<float> into(15);
  f.read_f32_into("b.weight", into);
  CHECK(into == big);
  std::vector<float> wrong(14);
  CHECK_THROWS_AS(f.read_f32_into("b.weight", wrong), SafetensorsError);
  CHECK(f.contains("b.weight"));
  CHECK_FALSE(f.contains("nope"));
  try {
    f.info("nope");
    FAIL("expected an error");
  } catch (const SafetensorsError& e) {
    CHECK_THAT(e.what(), Catch::Contains("'nope'") && Catch::Contains("model.safetensors"));
  }
}

TEST_CASE("safetensors writer: borrowed data is written without a copy", "[safetensors]") {
  FormatsScratch dir;
  std::vector<float> weights(1000);
  for (size_t i = 0; i < weights.size(); ++i) weights[i] = static_cast<float>(i) * 0.5f;
  SafetensorsWriter w;
  w.add_borrowed("w", DType::F32, {10, 100},
                 {reinterpret_cast<const uint8_t*>(weights.data()), weights.size() * 4});
  const float small[] = {1.0f};
  for (int i = 0; i < 50; ++i) w.add_f32("owned." + std::to_string(i), {1}, small);  // grows storage
  w.write(dir / "b.safetensors");
  SafetensorsFile f(dir / "b.safetensors");
  CHECK(f.read_f32("w") == weights);
  CHECK(f.read_f32("owned.49") == std::vector<float>{1.0f});
  CHECK(f.tensors().size() == 51);
}

TEST_CASE("safetensors writer: bad input", "[safetensors]") {
  SafetensorsWriter w;
  const float v[] = {1.0f, 2.0f};
  w.add_f32("x", {2}, v);
  CHECK_THROWS_AS(w.add_f32("x", {2}, v), std::invalid_argument);       // duplicate
  CHECK_THROWS_AS(w.add_f32("y", {3}, v), std::invalid_argument);       // size mismatch
  CHECK_THROWS_AS(w.add_f32("y", {-2}, v), std::invalid_argument);      // negative dim
  CHECK_THROWS_AS(w.add_f32("", {2}, v), std::invalid_argument);        // empty name
  CHECK_THROWS_AS(w.add_f32("__metadata__", {2}, v), std::invalid_argument);
  const uint8_t raw[3] = {1, 2, 3};
  CHECK_THROWS_AS(w.add("r", DType::F16, {2}, raw), std::invalid_argument);
  FormatsScratch dir;
  CHECK_THROWS(w.write(dir / "missing-dir" / "x.safetensors"));
  CHECK(w.size() == 1);
  // A failed write leaves an existing file as it was and no temp file behind.
  wb::test::write_file_text(dir / "keep.safetensors", "old");
  std::filesystem::permissions(dir.path(), std::filesystem::perms::owner_read |
                                               std::filesystem::perms::owner_exec);
  const bool can_write_anyway = ::access(dir.path().c_str(), W_OK) == 0;  // root ignores modes
  if (!can_write_anyway) {
    CHECK_THROWS_WITH(w.write(dir / "keep.safetensors"), Catch::Contains("keep.safetensors"));
  }
  std::filesystem::permissions(dir.path(), std::filesystem::perms::owner_all);
  size_t entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    (void)e;
    ++entries;
  }
  CHECK(entries == 1);
  CHECK(wb::test::read_file_bytes(dir / "keep.safetensors").size() == 3);
}

TEST_CASE("safetensors reader: each malformation is a named error", "[safetensors]") {
  const auto data8 = f32_bytes({1.0f, 2.0f});
  const std::string ok = R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  REQUIRE(load_error(image(ok, data8)).empty());

  struct Case {
    std::vector<uint8_t> bytes;
    std::string expect;
  };
  const std::vector<Case> cases = {
      {{1, 2, 3}, "too short"},
      {image(ok, data8, 1ull << 40), "header length within the limit"},
      {image(ok, data8, 5000), "header length within the file size"},
      {image("{\"t\":", data8), "not valid JSON"},
      {image("[1,2]", data8), "not a JSON object"},
      {image(R"({"t":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}})", data8),
       "tensor 't': unsupported dtype 'F64'"},
      {image(R"({"t":{"shape":[2],"data_offsets":[0,8]}})", data8), "tensor 't': missing 'dtype'"},
      {image(R"({"t":{"dtype":"F32","data_offsets":[0,8]}})", data8), "tensor 't': missing 'shape'"},
      {image(R"({"t":{"dtype":"F32","shape":[2]}})", data8), "tensor 't': missing 'data_offsets'"},
      {image(R"({"t":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", data8),
       "tensor 't': 'shape' holds -2"},
      {image(R"({"t":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}})", data8),
       "tensor 't': 'shape' holds 2.5"},
      {image(R"({"t":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", data8),
       "tensor 't': data_offsets span 8 bytes but shape [3] of F32 needs 12"},
      {image(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", data8),
       "tensor 't': data_offsets [4, 12) extend past the data section (8 bytes)"},
      {image(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", data8),
       "tensor 't': data_offsets end < begin"},
      {image(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", data8),
       "tensor 't': 'data_offsets' is not a [begin, end] pair"},
      {image(R"({"t":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}})", data8),
       "tensor 't': shape overflows"},
      {image(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"extra":1}})", data8),
       "tensor 't': unknown field 'extra'"},
      {image(R"({"t":[1]})", data8), "tensor 't': entry is not an object"},
      {image(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
             data8),
       "tensor 'b' overlaps tensor 'a'"},
      {image(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
             data8),
       "header lists 't' twice"},
      {image(R"({"__metadata__":{"format":1},"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
             data8),
       "__metadata__ 'format' is not a string"},
      {image(R"({"__metadata__":[],"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", data8),
       "__metadata__ is not an object"},
  };
  for (const auto& c : cases) {
    const std::string err = load_error(c.bytes);
    INFO("expected: " << c.expect);
    CHECK_THAT(err, Catch::Contains(c.expect) && Catch::Contains("test.safetensors"));
  }
  // Unsorted offsets, gaps and empty tensors are fine.
  const auto data12 = f32_bytes({1.0f, 2.0f, 3.0f});
  const auto unsorted = SafetensorsFile::from_bytes(image(
      R"({"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"e":{"dtype":"F16","shape":[0],"data_offsets":[4,4]}})",
      data12));
  CHECK(unsorted.read_f32("b") == std::vector<float>{3.0f});
  CHECK(unsorted.read_f32("a") == std::vector<float>{1.0f});
  CHECK(unsorted.read_f32("e").empty());
  // An empty header object is a valid file with no tensors.
  CHECK(SafetensorsFile::from_bytes(image("{}", {})).tensors().empty());
}

TEST_CASE("safetensors reader: missing and unreadable paths", "[safetensors]") {
  FormatsScratch dir;
  try {
    SafetensorsFile f(dir / "absent.safetensors");
    FAIL("expected an error");
  } catch (const SafetensorsError& e) {
    CHECK_THAT(e.what(), Catch::Contains("absent.safetensors"));
  }
  CHECK_THROWS_AS(SafetensorsFile(dir.path()), SafetensorsError);
  wb::test::write_file_bytes(dir / "empty.safetensors", {});
  CHECK_THROWS_AS(SafetensorsFile(dir / "empty.safetensors"), SafetensorsError);
  CHECK_THROWS_AS(SafetensorsSet::open(dir / "nothing-here"), SafetensorsError);
  CHECK_THROWS_AS(SafetensorsSet::open(dir.path()), SafetensorsError);  // no model files
}

TEST_CASE("safetensors sets: single file, directory and sharded index", "[safetensors]") {
  FormatsScratch dir;
  const float a[] = {1.0f, 2.0f}, b[] = {3.0f}, c[] = {4.0f, 5.0f, 6.0f};
  {
    SafetensorsWriter w1, w2;
    w1.add_f32("model.a", {2}, a);
    w1.add_f32("model.b", {1}, b, DType::BF16);
    w2.add_f32("model.c", {3}, c);
    w1.write(dir / "model-00001-of-00002.safetensors");
    w2.write(dir / "model-00002-of-00002.safetensors");
  }
  const nlohmann::json index = {
      {"metadata", {{"total_size", 22}}},
      {"weight_map",
       {{"model.a", "model-00001-of-00002.safetensors"},
        {"model.b", "model-00001-of-00002.safetensors"},
        {"model.c", "model-00002-of-00002.safetensors"}}}};
  wb::test::write_file_text(dir / "model.safetensors.index.json", index.dump());

  for (const auto& p : {dir.path(), dir / "model.safetensors.index.json"}) {
    const auto set = SafetensorsSet::open(p);
    CHECK(set.size() == 3);
    CHECK(set.files().size() == 2);
    CHECK(set.names() == std::vector<std::string>{"model.a", "model.b", "model.c"});
    CHECK(set.read_f32("model.c") == std::vector<float>{4.0f, 5.0f, 6.0f});
    CHECK(set.read_f64("model.b") == std::vector<double>{3.0});
    CHECK(set.info("model.b").dtype == DType::BF16);
    CHECK(set.view("model.a").bytes.size() == 8);
    CHECK_THROWS_AS(set.info("model.d"), SafetensorsError);
  }
  const auto single = SafetensorsSet::open(dir / "model-00002-of-00002.safetensors");
  CHECK(single.names() == std::vector<std::string>{"model.c"});

  auto index_error = [&](const nlohmann::json& j) {
    wb::test::write_file_text(dir / "bad.index.json", j.dump());
    try {
      SafetensorsSet::open(dir / "bad.index.json");
    } catch (const SafetensorsError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK_THAT(index_error({{"metadata", {}}}), Catch::Contains("missing 'weight_map'"));
  CHECK_THAT(index_error({{"weight_map", {{"model.a", "nope.safetensors"}}}}),
             Catch::Contains("shard 'nope.safetensors'") && Catch::Contains("model.a"));
  CHECK_THAT(index_error({{"weight_map", {{"model.c", "model-00001-of-00002.safetensors"}}}}),
             Catch::Contains("tensor 'model.c' is mapped to"));
  CHECK_THAT(index_error({{"weight_map", {{"model.a", "../model-00001-of-00002.safetensors"}}}}),
             Catch::Contains("not a file name inside the model folder"));
  CHECK_THAT(index_error({{"weight_map", {{"model.a", 3}}}}), Catch::Contains("is not a string"));
  wb::test::write_file_text(dir / "bad.index.json", "{not json");
  CHECK_THROWS_AS(SafetensorsSet::open(dir / "bad.index.json"), SafetensorsError);

  // A directory with only model.safetensors.
  FormatsScratch dir2;
  {
    SafetensorsWriter w;
    w.add_f32("x", {2}, a);
    w.write(dir2 / "model.safetensors");
  }
  CHECK(SafetensorsSet::open(dir2.path()).read_f32("x") == std::vector<float>{1.0f, 2.0f});
}

TEST_CASE("safetensors reader: errors name the file and the problem, never its bytes", "[safetensors]") {
  FormatsScratch dir;
  // A file that is not safetensors at all (here a secret), reached through a symlink as an adapter
  // file could be: its first 8 bytes read as a number must not appear, nor any of its text.
  const std::string secret = "hunter2-SECRET-TOKEN-0123456789abcdef\n";
  wb::test::write_file_bytes(dir / "secret.txt", std::vector<uint8_t>(secret.begin(), secret.end()));
  std::filesystem::create_symlink(dir / "secret.txt", dir / "adapter_model.safetensors");
  uint64_t as_length = 0;
  std::memcpy(&as_length, secret.data(), 8);
  try {
    SafetensorsFile f(dir / "adapter_model.safetensors");
    FAIL("expected an error");
  } catch (const SafetensorsError& e) {
    const std::string msg = e.what();
    CHECK_THAT(msg, Catch::Contains("adapter_model.safetensors") && Catch::Contains("not a safetensors file"));
    CHECK_THAT(msg, !Catch::Contains(std::to_string(as_length)) && !Catch::Contains("hunter2") &&
                        !Catch::Contains("SECRET"));
  }
  // A header length that fits but a header that is not JSON: no quoted bytes ("last read: ...").
  std::vector<uint8_t> bytes(8, 0);
  const std::string text = "root:x:0:0:root:/root:/bin/bash";
  bytes[0] = static_cast<uint8_t>(text.size());
  bytes.insert(bytes.end(), text.begin(), text.end());
  const std::string err = load_error(bytes);
  CHECK_THAT(err, Catch::Contains("not valid JSON"));
  CHECK_THAT(err, !Catch::Contains("root:x") && !Catch::Contains("last read"));
}
