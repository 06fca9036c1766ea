// gatt_fixture.h — a real workbenchd with the sft, rlhf and serve plugins (tests/sft's SftDaemon),
// the suite's persona dialogues imported as "dialogues" and an untrained tiny model "base" with a
// context of 512 tokens.
#pragma once

#include "sft_fixture.h"

namespace gatttest {

using nlohmann::json;

class GattDaemon : public sfttest::SftDaemon {
 public:
  // The tiny model with a context of 512 tokens, so that several persona turns fit.
  GattDaemon() : SftDaemon(WB_RLHF_TEST_PLUGIN_DIR, "cpu") {
    import_sft("dialogues", "dialogues_eval.jsonl");
    json config = sfttest::tiny_config();
    config["max_position_embeddings"] = 512;
    run_job("model_init", {{"name", "base"}, {"config", config},
                           {"tokenizer_corpus", (suite_dir() / "tokenizer_corpus.txt").string()},
                           {"vocab_size", 400}, {"seed", 1}});
  }
};

}  // namespace gatttest
