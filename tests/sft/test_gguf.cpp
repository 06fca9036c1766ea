// GGUF export: write a tiny HF model dir (random weights + a trained SentencePiece tokenizer),
// export it to GGUF v3 (f32 and f16), and read it back with an independent reader: the llama.*
// keys, the vocabulary, tensor names/shapes/types, and the HF->Meta q/k row permutation.
#include <functional>

#include <catch2/catch.hpp>

#include "daemon_process.h"
#include "gguf_export.h"
#include "gguf_reader.h"
#include "sft_fixture.h"
#include "sp_model.h"
#include "wb/llama/model_io.h"
#include "wb/llama/sp_trainer.h"
#include "wb/llama/tokenizer.h"
#include "wb/suite/generator.h"

using namespace sfttest;
namespace fs = std::filesystem;
namespace ll = wb::llama;

TEST_CASE("GGUF export has llama keys, the SentencePiece vocabulary and permuted q/k", "[sft][gguf]") {
  wbtest::TempDir tmp;
  wb::suite::write_files(wb::suite::generate(3, wb::suite::Sizes::small()), tmp.path() / "suite");
  const fs::path dir = tmp.path() / "model";
  ll::SpTrainOptions so;
  so.vocab_size = 400;
  fs::create_directories(dir);
  ll::train_sentencepiece(tmp.path() / "suite" / "tokenizer_corpus.txt", dir / "tokenizer.model", so);
  const ll::Tokenizer tok(dir / "tokenizer.model");

  ll::LlamaConfig c;
  c.hidden_size = 32;
  c.intermediate_size = 64;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.vocab_size = tok.vocab_size();
  c.max_position_embeddings = 64;
  c.tie_word_embeddings = true;
  c.pad_token_id = tok.pad_id();
  const auto m = ll::Model<float>::random(c, 9);
  ll::save_model(dir, m);

  wb::sft::write_gguf_from_hf_dir(dir, tmp.path() / "m.gguf", ll::DType::F32);
  const GgufFile g = GgufFile::read(tmp.path() / "m.gguf");
  CHECK(g.version == 3);
  CHECK(g.meta.at("general.architecture") == "llama");
  CHECK(g.meta.at("llama.context_length") == 64);
  CHECK(g.meta.at("llama.embedding_length") == 32);
  CHECK(g.meta.at("llama.block_count") == 2);
  CHECK(g.meta.at("llama.feed_forward_length") == 64);
  CHECK(g.meta.at("llama.attention.head_count") == 4);
  CHECK(g.meta.at("llama.attention.head_count_kv") == 2);
  CHECK(g.meta.at("llama.rope.freq_base").get<double>() == Approx(10000.0));
  CHECK(g.meta.at("llama.attention.layer_norm_rms_epsilon").get<double>() == Approx(1e-5));
  CHECK(g.meta.at("tokenizer.ggml.model") == "llama");
  const auto& tokens = g.meta.at("tokenizer.ggml.tokens");
  REQUIRE(tokens.size() == static_cast<size_t>(tok.vocab_size()));
  for (int32_t id : {0, 1, 2, 3, 100, 300}) CHECK(tokens[id] == tok.id_to_piece(id));
  const auto& types = g.meta.at("tokenizer.ggml.token_type");
  CHECK(types[0] == 2);  // <unk>
  CHECK(types[1] == 3);  // <s> control
  CHECK(types[2] == 3);  // </s>
  for (int32_t id = 0; id < tok.vocab_size(); ++id)
    if (tok.is_byte(id)) CHECK(types[id] == 6);
  CHECK(g.meta.at("tokenizer.ggml.scores").size() == tokens.size());
  CHECK(g.meta.at("tokenizer.ggml.bos_token_id") == 1);
  CHECK(g.meta.at("tokenizer.ggml.eos_token_id") == 2);

  CHECK(g.tensors.size() == 2 + 9 * 2 + 1);
  CHECK(g.tensors.at("token_embd.weight").dims == std::vector<uint64_t>{32, static_cast<uint64_t>(c.vocab_size)});
  CHECK(g.tensors.at("blk.1.attn_k.weight").dims == std::vector<uint64_t>{32, 16});
  CHECK(g.tensors.at("blk.0.ffn_down.weight").dims == std::vector<uint64_t>{64, 32});
  CHECK(g.tensors.at("blk.0.ffn_gate.weight").dims == std::vector<uint64_t>{32, 64});
  CHECK(g.tensors.at("output_norm.weight").dims == std::vector<uint64_t>{32});
  CHECK(g.f32("output.weight") == m.weights.embed_tokens.data);
  CHECK(g.f32("blk.0.attn_v.weight") == m.weights.layers[0].v_proj.data);
  for (auto& [name, t] : g.tensors) CHECK(t.offset % 32 == 0);

  // q rows: Meta row h*hd + 2i + j holds HF row h*hd + j*hd/2 + i (checked on every element).
  const auto q = g.f32("blk.1.attn_q.weight");
  const auto& hq = m.weights.layers[1].q_proj.data;
  const int64_t hd = 8, D = 32;
  bool ok = true;
  for (int64_t h = 0; h < 4; ++h)
    for (int64_t i = 0; i < hd / 2; ++i)
      for (int64_t j = 0; j < 2; ++j)
        for (int64_t col = 0; col < D; ++col)
          ok &= q[(h * hd + 2 * i + j) * D + col] == hq[(h * hd + j * hd / 2 + i) * D + col];
  CHECK(ok);
  const auto k = g.f32("blk.0.attn_k.weight");
  const auto& hk = m.weights.layers[0].k_proj.data;
  CHECK(k[(0 * hd + 1) * D + 5] == hk[(0 * hd + hd / 2) * D + 5]);  // kv head 0, pair 0, second half
  CHECK(k[(1 * hd + 2) * D + 7] == hk[(1 * hd + 1) * D + 7]);

  // f16: matrices F16 (half the bytes), norms F32.
  wb::sft::write_gguf_from_hf_dir(dir, tmp.path() / "h.gguf", ll::DType::F16);
  const GgufFile h = GgufFile::read(tmp.path() / "h.gguf");
  CHECK(h.meta.at("general.file_type") == 1);
  CHECK(h.tensors.at("blk.0.attn_q.weight").type == 1);
  CHECK(h.tensors.at("blk.0.attn_norm.weight").type == 0);
  CHECK(fs::file_size(tmp.path() / "h.gguf") < fs::file_size(tmp.path() / "m.gguf"));
}

TEST_CASE("read_sp_pieces refuses a file that is not a SentencePiece model", "[sft][gguf]") {
  wbtest::TempDir tmp;
  std::ofstream(tmp.path() / "bad.model") << "\x0a\xff\xff\xff\xff\x0f garbage";
  CHECK_THROWS_WITH(wb::sft::read_sp_pieces(tmp.path() / "bad.model"), Catch::Contains("not a SentencePiece model"));
  CHECK_THROWS_WITH(wb::sft::read_sp_pieces(tmp.path() / "missing.model"), Catch::Contains("cannot read"));
}
