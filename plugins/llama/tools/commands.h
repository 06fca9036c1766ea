// The subcommands of wb-engine. Each registers its options on a CLI11 app and runs from there;
// every command prints errors as "wb-engine <cmd>: <message>" and exits non-zero (main.cpp).
#pragma once

#include <CLI/CLI.hpp>

namespace wb::engine_tool {

// init --config config.json | --preset P --seed S --out DIR [--tokenizer FILE]
void add_init(CLI::App& app);
// tokenize --tokenizer FILE [--chat-json FILE] [--no-bos] TEXT   (tokenizer builds only)
void add_tokenize(CLI::App& app);
// forward --model DIR --tokens 1,2,3 [--adapter DIR] --out FILE
void add_forward(CLI::App& app);
// generate --model DIR [--adapter DIR] --prompt P | --prompt-ids 1,2 | --chat-json F --max-tokens N ...
void add_generate(CLI::App& app);
// merge --model DIR --adapter DIR --out DIR
void add_merge(CLI::App& app);

}  // namespace wb::engine_tool
