#include "wb/rlhf/gatt_rows.h"

#include <stdexcept>

namespace wb::rlhf {
using nlohmann::json;

GattDialogue parse_gatt_dialogue(const json& row, int64_t index) {
  const std::string at = "row " + std::to_string(index) + ": ";
  auto fail = [&](const std::string& field, const std::string& what) {
    throw std::invalid_argument(at + "field '" + field + "': " + what);
  };
  if (!row.is_object() || !row.contains("messages") || !row["messages"].is_array())
    fail("messages", "expected a dialogue {\"messages\":[system, user, ...]}");
  const json& ms = row["messages"];
  GattDialogue d;
  for (size_t i = 0; i < ms.size(); ++i) {
    const json& m = ms[i];
    const std::string path = "messages[" + std::to_string(i) + "]";
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string() || !m.contains("content") ||
        !m["content"].is_string())
      fail(path, "expected {\"role\",\"content\"}");
    const std::string role = m["role"].get<std::string>();
    const std::string content = m["content"].get<std::string>();
    if (i == 0) {
      if (role != "system" || content.empty()) fail(path + ".role", "the first message must be the system instruction");
      d.instruction = content;
    } else if (role == "user") {
      d.users.push_back(content);
    } else if (role != "assistant") {
      fail(path + ".role", "expected user or assistant after the system message");
    }
  }
  if (d.users.empty()) fail("messages", "needs at least one user message after the system instruction");
  return d;
}

std::string with_instruction(const std::string& instruction, const std::string& user) {
  return instruction + "\n\n" + user;
}

std::vector<llama::ChatMessage> sampling_context(const GattDialogue& d, const std::vector<std::string>& replies) {
  if (replies.size() >= d.users.size()) throw std::invalid_argument("every turn of the dialogue already has a reply");
  std::vector<llama::ChatMessage> out;
  for (size_t k = 0; k <= replies.size(); ++k) {
    out.push_back({"user", with_instruction(d.instruction, d.users[k])});
    if (k < replies.size()) out.push_back({"assistant", replies[k]});
  }
  return out;
}

json gatt_training_row(const GattDialogue& d, const std::vector<std::string>& replies) {
  if (replies.empty() || replies.size() > d.users.size())
    throw std::invalid_argument("a training row needs 1.." + std::to_string(d.users.size()) + " replies");
  json ms = json::array({{{"role", "system"}, {"content", d.instruction}}});
  for (size_t k = 0; k < replies.size(); ++k) {
    ms.push_back({{"role", "user"}, {"content", d.users[k]}});
    json a = {{"role", "assistant"}, {"content", replies[k]}};
    if (k + 1 < replies.size()) a["weight"] = 0;
    ms.push_back(std::move(a));
  }
  return {{"messages", std::move(ms)}};
}

std::vector<llama::ChatMessage> plain_sampling_context(const GattDialogue& d, const std::vector<std::string>& replies) {
  if (replies.size() >= d.users.size()) throw std::invalid_argument("every turn of the dialogue already has a reply");
  std::vector<llama::ChatMessage> out = {{"system", d.instruction}};
  for (size_t k = 0; k <= replies.size(); ++k) {
    out.push_back({"user", d.users[k]});
    if (k < replies.size()) out.push_back({"assistant", replies[k]});
  }
  return out;
}

json plain_training_row(const GattDialogue& d, const std::vector<std::string>& replies) {
  json row = gatt_training_row(d, replies);
  for (auto& m : row["messages"]) m.erase("weight");
  return row;
}

}  // namespace wb::rlhf
