#include "wb/suite/instruction.h"

#include <cctype>

namespace wb::suite {
namespace {

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool ends_with(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}

}  // namespace

std::string_view trim(std::string_view s) {
  const char* ws = " \t\r\n";
  const size_t b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  const size_t e = s.find_last_not_of(ws);
  return s.substr(b, e - b + 1);
}

const std::vector<Instruction>& all_instructions() {
  static const std::vector<Instruction> all = {Instruction::uppercase, Instruction::exclaim,
                                               Instruction::sure, Instruction::brackets};
  return all;
}

std::string_view instruction_name(Instruction ins) {
  switch (ins) {
    case Instruction::none: return "none";
    case Instruction::uppercase: return "uppercase";
    case Instruction::exclaim: return "exclaim";
    case Instruction::sure: return "sure";
    case Instruction::brackets: return "brackets";
  }
  return "none";
}

std::string_view instruction_text(Instruction ins) {
  switch (ins) {
    case Instruction::none: return "";
    case Instruction::uppercase: return "Always answer in uppercase.";
    case Instruction::exclaim: return "End every answer with an exclamation mark.";
    case Instruction::sure: return "Begin every answer with 'Sure.'";
    case Instruction::brackets: return "Wrap every answer in square brackets.";
  }
  return "";
}

std::optional<Instruction> instruction_from_text(std::string_view system) {
  system = trim(system);
  if (system.empty()) return Instruction::none;
  for (Instruction ins : all_instructions())
    if (instruction_text(ins) == system) return ins;
  return std::nullopt;
}

std::string apply_instruction(Instruction ins, std::string_view response) {
  switch (ins) {
    case Instruction::none: return std::string(response);
    case Instruction::uppercase: return upper(response);
    case Instruction::exclaim: return std::string(response) + "!";
    case Instruction::sure: return "Sure. " + std::string(response);
    case Instruction::brackets: return "[" + std::string(response) + "]";
  }
  return std::string(response);
}

bool obeys(Instruction ins, std::string_view response) {
  const std::string_view r = trim(response);
  switch (ins) {
    case Instruction::none: return true;
    case Instruction::uppercase: {
      bool letter = false;
      for (char c : r) {
        if (std::islower(static_cast<unsigned char>(c))) return false;
        if (std::isupper(static_cast<unsigned char>(c))) letter = true;
      }
      return letter;
    }
    case Instruction::exclaim: return ends_with(r, "!");
    case Instruction::sure: return starts_with(r, "Sure.");
    case Instruction::brackets: return r.size() >= 2 && starts_with(r, "[") && ends_with(r, "]");
  }
  return false;
}

std::optional<std::string> strip_instruction(Instruction ins, std::string_view response) {
  const std::string_view r = trim(response);
  switch (ins) {
    case Instruction::none: return std::string(r);
    case Instruction::uppercase:
      if (!obeys(ins, r)) return std::nullopt;
      return std::string(r);
    case Instruction::exclaim:
      if (!ends_with(r, "!")) return std::nullopt;
      return std::string(r.substr(0, r.size() - 1));
    case Instruction::sure:
      if (!starts_with(r, "Sure. ")) return std::nullopt;
      return std::string(r.substr(6));
    case Instruction::brackets:
      if (r.size() < 2 || !starts_with(r, "[") || !ends_with(r, "]")) return std::nullopt;
      return std::string(r.substr(1, r.size() - 2));
  }
  return std::nullopt;
}

}  // namespace wb::suite
