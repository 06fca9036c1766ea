// Plain-text corpora: the pretraining corpus and the tokenizer-training text.
//
// The pretraining corpus states every fact of the World in declarative sentences with a few
// wordings each ("23 plus 4 equals 27.", "The capital of Zorbia is Kelmor.", "The word kelo
// spelled backwards is olek.") and tells the lore of the unsafe things, both their fictional
// method and that the wise refuse to give it ("... they say: I cannot help with that."). It
// never uses the question/"Answer:" format or the [INST] chat markers: a base model trained on
// it knows the content but not the chat format, which SFT then teaches.
#pragma once

#include <string>
#include <vector>

#include "wb/suite/rng.h"

namespace wb::suite {

// Every fact's sentence wordings, one inner vector per fact, in a fixed order.
std::vector<std::vector<std::string>> world_facts();

// `n` lines: repeated shuffled passes over world_facts(), each fact in a randomly chosen
// wording, so every fact appears once before any appears twice.
std::vector<std::string> pretrain_lines(Rng& rng, int n);

// Text to train the tokenizer on: the given lines plus one line with every character the suite
// uses (so no answer needs byte fallback). Lines are joined with '\n'; embedded newlines become
// spaces (SentencePiece reads one sentence per line).
std::string tokenizer_text(const std::vector<std::string>& lines);

}  // namespace wb::suite
