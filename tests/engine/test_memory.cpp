// Memory: decoding the 110M configuration keeps resident memory (VmRSS) under 1.3 x (weights +
// KV cache) — the decoder's own buffers and the process overhead stay small next to the model.
#include <catch2/catch.hpp>

#include <fstream>
#include <string>

#include "wb/llama/decode.h"
#include "wb/llama/presets.h"
#include "wb/llama/sampler.h"

using namespace wb::llama;

namespace {

int64_t status_bytes(const std::string& key) {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind(key + ":", 0) == 0) return std::stoll(line.substr(key.size() + 1)) * 1024;
  return 0;
}

}  // namespace

TEST_CASE("decoding the 110M model stays under 1.3x weights + KV cache resident", "[memory]") {
  const LlamaConfig c = preset_config("110m");
  const Model<float> m = Model<float>::random(c, 1);
  const int64_t weights = m.weights.numel() * static_cast<int64_t>(sizeof(float));
  Decoder<float> dec(m);
  // Two sequences: one prefilled with 130 tokens then decoding, one short.
  DecodeSequence<float> a(c), b(c);
  std::vector<int32_t> prompt;
  for (int i = 0; i < 130; ++i) prompt.push_back(static_cast<int32_t>(3 + (i * 37) % (c.vocab_size - 3)));
  std::vector<float> logits;
  dec.prefill(a, prompt, logits, 64);
  dec.prefill(b, {1, 500, 600}, logits);
  std::vector<DecodeSequence<float>*> seqs{&a, &b};
  std::vector<int32_t> next{5, 6};
  for (int i = 0; i < 4; ++i) {
    dec.step(seqs, next, logits);
    next = {argmax(std::span<const float>(logits.data(), c.vocab_size)),
            argmax(std::span<const float>(logits.data() + c.vocab_size, c.vocab_size))};
  }
  const int64_t kv = a.cache.bytes() + b.cache.bytes();
  const int64_t rss = status_bytes("VmRSS");
  REQUIRE(rss > 0);
  INFO("weights " << weights / 1e6 << " MB, kv " << kv / 1e6 << " MB, rss " << rss / 1e6 << " MB, peak "
                  << status_bytes("VmHWM") / 1e6 << " MB");
  CHECK(a.length() == 134);
  CHECK(kv < weights / 10);  // the cache grew with the sequence, not to the full context
  CHECK(static_cast<double>(rss) < 1.3 * static_cast<double>(weights + kv));
}
