// System instructions for Ghost Attention (GAtt) dialogues, and how to check them.
//
// Each instruction is a system message whose effect on an answer is a plain string transform,
// so obedience in any later turn is decided exactly:
//
//   uppercase  "Always answer in uppercase."                  -> "ANSWER: OLEK"
//   exclaim    "End every answer with an exclamation mark."   -> "Answer: olek!"
//   sure       "Begin every answer with 'Sure.'"              -> "Sure. Answer: olek"
//   brackets   "Wrap every answer in square brackets."        -> "[Answer: olek]"
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wb::suite {

enum class Instruction { none, uppercase, exclaim, sure, brackets };

// Every instruction except none, in a fixed order.
const std::vector<Instruction>& all_instructions();

// Short name ("uppercase", ...; "none") used in reports.
std::string_view instruction_name(Instruction ins);
// The system message text; empty for none.
std::string_view instruction_text(Instruction ins);
// The instruction whose text equals `system` (surrounding whitespace ignored); none for an
// empty system message; nullopt for a system message that is not one of the suite's.
std::optional<Instruction> instruction_from_text(std::string_view system);

// The response transformed as the instruction demands (identity for none).
std::string apply_instruction(Instruction ins, std::string_view response);
// Whether the response obeys the instruction (leading/trailing whitespace ignored; always true
// for none).
bool obeys(Instruction ins, std::string_view response);
// If the trimmed response is exactly apply_instruction(ins, inner) for some inner text, that
// inner text; otherwise nullopt. For uppercase the inner text is returned as written (upper).
std::optional<std::string> strip_instruction(Instruction ins, std::string_view response);

// Whitespace trimming shared by the suite (spaces, tabs, CR, LF).
std::string_view trim(std::string_view s);

}  // namespace wb::suite
