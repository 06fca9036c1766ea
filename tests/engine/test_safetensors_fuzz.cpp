// Fuzz: deterministic random mutations of a valid file (header bytes, the length prefix, JSON
// numbers, truncations) must each either load — and then every tensor reads in bounds — or throw
// SafetensorsError. Run under -fsanitize=address once locally; here it runs without ASan.
#include <catch2/catch.hpp>
#include <random>
#include <string>

#include "wb/llama/safetensors.h"

using namespace wb::llama;

namespace {

std::vector<uint8_t> seed_file() {
  SafetensorsWriter w;
  std::vector<float> a(12), b(5), c(7);
  for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<float>(i);
  for (size_t i = 0; i < b.size(); ++i) b[i] = -static_cast<float>(i);
  for (size_t i = 0; i < c.size(); ++i) c[i] = 0.5f * static_cast<float>(i);
  w.add_f32("layers.0.w", {3, 4}, a);
  w.add_f32("layers.0.b", {5}, b, DType::BF16);
  w.add_f32("norm", {7}, c, DType::F16);
  w.set_metadata("k", "v");
  return w.serialize();
}

// Touches every byte of every tensor (reads past the end would trip ASan / crash).
double consume(const SafetensorsFile& f) {
  double sum = 0;
  for (const auto& t : f.tensors()) {
    for (double v : f.read_f64(t.name)) sum += v == v ? v : 0.0;
    const auto view = f.view(t.name);
    for (uint8_t byte : view.bytes) sum += byte;
  }
  return sum;
}

// Interesting replacements for a digit run inside the header.
const char* kNumbers[] = {"0", "1", "7", "8", "4294967296", "18446744073709551615",
                          "18446744073709551616", "-1", "1e3", "9223372036854775807", "3.5", ""};

}  // namespace

TEST_CASE("safetensors fuzz: mutated files load or throw, never crash", "[safetensors][fuzz]") {
  const std::vector<uint8_t> seed = seed_file();
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | seed[i];
  std::mt19937_64 rng(20240611);
  size_t loaded = 0, rejected = 0;
  const int kIterations = 50000;
  for (int iter = 0; iter < kIterations; ++iter) {
    std::vector<uint8_t> bytes = seed;
    const int mutations = 1 + static_cast<int>(rng() % 3);
    for (int m = 0; m < mutations; ++m) {
      switch (rng() % 6) {
        case 0: {  // flip a random byte of the length prefix or header
          if (bytes.empty()) break;
          const size_t pos = rng() % std::min<size_t>(bytes.size(), 8 + header_len);
          bytes[pos] ^= static_cast<uint8_t>(1u << (rng() % 8));
          break;
        }
        case 1: {  // overwrite a header byte with a JSON-significant character
          const char pool[] = "{}[]\",:0123456789-.eE \\u";
          const size_t pos = 8 + rng() % header_len;
          if (pos < bytes.size()) bytes[pos] = static_cast<uint8_t>(pool[rng() % (sizeof(pool) - 1)]);
          break;
        }
        case 2: {  // replace a run of digits in the header with an extreme number
          if (bytes.size() < 8) break;
          std::string text(bytes.begin() + 8, bytes.begin() + 8 + std::min<uint64_t>(header_len, bytes.size() - 8));
          size_t start = rng() % (text.size() + 1);
          start = text.find_first_of("0123456789", start);
          if (start == std::string::npos) break;
          const size_t end = text.find_first_not_of("0123456789", start);
          const std::string repl = kNumbers[rng() % (sizeof(kNumbers) / sizeof(kNumbers[0]))];
          std::vector<uint8_t> out(bytes.begin(), bytes.begin() + 8);
          text.replace(start, (end == std::string::npos ? text.size() : end) - start, repl);
          out.insert(out.end(), text.begin(), text.end());
          out.insert(out.end(), bytes.begin() + 8 + std::min<uint64_t>(header_len, bytes.size() - 8), bytes.end());
          const uint64_t n = rng() % 2 ? text.size() : header_len;  // keep or fix the prefix
          for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(n >> (8 * i));
          bytes = std::move(out);
          break;
        }
        case 3:  // truncate
          bytes.resize(rng() % (bytes.size() + 1));
          break;
        case 4: {  // random length prefix near the real one, or anywhere
          uint64_t n = rng() % 2 ? header_len + (rng() % 64) - 32 : rng();
          if (bytes.size() >= 8) {
            for (int i = 0; i < 8; ++i) bytes[i] = static_cast<uint8_t>(n >> (8 * i));
          }
          break;
        }
        case 5:  // append junk
          for (int k = static_cast<int>(rng() % 16); k > 0; --k) bytes.push_back(static_cast<uint8_t>(rng()));
          break;
      }
    }
    try {
      const auto f = SafetensorsFile::from_bytes(std::move(bytes), "fuzz");
      consume(f);
      ++loaded;
    } catch (const SafetensorsError&) {
      ++rejected;
    }
  }
  CHECK(loaded + rejected == static_cast<size_t>(kIterations));
  // Both outcomes must be exercised for the fuzz to mean anything.
  CHECK(loaded > 100);
  CHECK(rejected > 1000);
}
