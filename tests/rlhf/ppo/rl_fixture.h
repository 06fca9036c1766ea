// rl_fixture.h — DpoDaemon (a real workbenchd with the sft, reward, rlhf and serve plugins, a tiny
// model "base", the SFT adapter "sft" and the preference dataset "prefs") plus what the ppo and
// rejection_sampling jobs read: a helpfulness reward model "rm-h" and a safety reward model
// "rm-s" trained by the reward job on "prefs", a prompt dataset "prompts" whose rows carry
// is_safety_prompt tags, and "prompts-untagged" whose rows carry none.
#pragma once

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "dpo_fixture.h"

namespace rltest {

using nlohmann::json;
namespace fs = std::filesystem;

inline std::string prompt_rows(int n, bool tags) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    json row = {{"prompt", "What is " + std::to_string(2 + i % 7) + " plus " + std::to_string(3 + (i * 5) % 11) + "?"}};
    if (tags) row["is_safety_prompt"] = i % 4 == 3;
    out += row.dump() + "\n";
  }
  return out;
}

class RlDaemon : public dpotest::DpoDaemon {
 public:
  RlDaemon() {
    for (const char* head : {"helpfulness", "safety"})
      run_job("reward", {{"model", "base"}, {"head", head}, {"datasets", {"prefs"}}, {"max_steps", 3}, {"max_len", 64},
                         {"lr", 5e-3}, {"rank", 2}, {"output", std::string("rm-") + head[0]}});
    for (const auto& [name, tags] : {std::pair{"prompts", true}, std::pair{"prompts-untagged", false}}) {
      auto r = d.post("/v1/datasets", {{"name", name}, {"kind", "prompt"}, {"jsonl", prompt_rows(12, tags)}});
      if (r.status != 201) throw std::runtime_error(std::string("import ") + name + ": " + r.text);
    }
  }
};

inline std::string file_bytes(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Every regular file under dir (recursively) with its bytes: a fingerprint to compare.
inline std::map<std::string, std::string> tree_bytes(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) out[fs::relative(e.path(), dir).string()] = file_bytes(e.path());
  return out;
}

}  // namespace rltest
