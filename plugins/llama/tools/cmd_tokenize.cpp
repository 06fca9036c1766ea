// wb-engine tokenize: a JSON array of token ids for TEXT (BOS first unless --no-bos), or for a
// chat given as a JSON list of {role, content} rendered with the Llama 2 template.
#include <iostream>
#include <memory>
#include <stdexcept>

#include "commands.h"
#include "tool_util.h"
#ifdef WB_ENGINE_HAVE_TOKENIZER
#include "chat_json.h"
#include "wb/llama/chat_template.h"
#include "wb/llama/tokenizer.h"
#endif

namespace wb::engine_tool {

#ifdef WB_ENGINE_HAVE_TOKENIZER
namespace {

struct TokenizeOptions {
  std::string tokenizer, chat_json, text;
  bool no_bos = false;
};

void run_tokenize(const TokenizeOptions& o) {
  const llama::Tokenizer tok(o.tokenizer);
  if (!o.chat_json.empty()) {
    if (!o.text.empty()) throw std::invalid_argument("give TEXT or --chat-json, not both");
    const auto msgs = read_chat_json(o.chat_json);
    std::cout << ids_to_json(llama::render_llama2_chat(tok, msgs).ids) << "\n";
    return;
  }
  std::cout << ids_to_json(tok.encode(o.text, !o.no_bos)) << "\n";
}

}  // namespace

void add_tokenize(CLI::App& app) {
  auto o = std::make_shared<TokenizeOptions>();
  CLI::App* cmd = app.add_subcommand("tokenize", "print the token ids of TEXT (or a chat) as JSON");
  cmd->add_option("--tokenizer", o->tokenizer, "SentencePiece tokenizer.model")->required()->check(CLI::ExistingFile);
  cmd->add_option("--chat-json", o->chat_json, "JSON list of {role, content}: Llama 2 chat template")
      ->check(CLI::ExistingFile);
  cmd->add_flag("--no-bos", o->no_bos, "do not prepend BOS to TEXT");
  cmd->add_option("text", o->text, "text to encode");
  cmd->callback([o] { run_tokenize(*o); });
}
#else
void add_tokenize(CLI::App&) {}  // built without libwb_tokenizer
#endif

}  // namespace wb::engine_tool
