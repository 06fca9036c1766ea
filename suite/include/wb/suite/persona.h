// Personas: the system instructions of Llama 2's Ghost Attention experiments (paper §3.3), made
// exactly checkable in the suite's invented world. A persona combines two of three kinds:
//
//   language  capitals  "Always answer in capital letters."            short "Language: capitals"
//             cipher    "Always answer in the shift cipher: ..."        short "Language: cipher"
//   figure    a named character of the world, e.g. Mirela
//             "Always act as Mirela from now: begin every answer with 'Mirela:'."  short "Figure: Mirela"
//   hobby     e.g. sailing
//             "You love sailing: mention sailing in every answer."    short "Hobby: sailing"
//
// The long texts of a persona are joined with " ", the short ones with ", " (always in the
// order language, figure, hobby). The reply to a task under a persona is built from the plain
// reply ("Answer: 27") in this order: hobby adds a second line "I love sailing."; figure
// prefixes "Mirela: "; language upper-cases the whole text or shifts every letter one place
// forward (a->b, z->a, case kept: "Answer" -> "Botxfs").
//
//   capitals + figure   MIRELA: ANSWER: 27
//   cipher + figure     Njsfmb: Botxfs: 27
//   figure + hobby      Mirela: Answer: 27\nI love sailing.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "wb/suite/rng.h"

namespace wb::suite {

enum class Language { none, capitals, cipher };

struct Persona {
  Language language = Language::none;
  std::string figure;  // one of persona_figures(), or empty
  std::string hobby;   // one of persona_hobbies(), or empty
  bool short_form = false;  // the system text uses the short "Figure: X" forms

  int kinds() const;  // how many of language, figure, hobby are set
  bool operator==(const Persona&) const = default;
};

const std::vector<std::string>& persona_figures();
const std::vector<std::string>& persona_hobbies();

// The system message of a persona (empty when no kind is set).
std::string persona_text(const Persona& p);
// The persona whose persona_text() equals the trimmed system text; nullopt when none does.
std::optional<Persona> persona_from_text(std::string_view system);
// Two different kinds at random, each with a random value; the short form half of the time.
Persona random_persona(Rng& rng);

std::string shift_cipher(std::string_view s);    // a->b ... z->a, A->B ... Z->A
std::string shift_decipher(std::string_view s);  // the inverse

// The reply under the persona, built from the plain reply (see above).
std::string apply_persona(const Persona& p, std::string_view reply);

// Whether a reply obeys each kind of the persona (a kind that is not set counts as obeyed), and
// the text left after undoing what was obeyed, for grading the content:
//   capitals  at least one letter and no lower-case letter.
//   cipher    the reply, deciphered, contains the answer marker ("answer", or "cannot" / "can't" /
//             "won't" for a refusal; any case) and the reply as written contains none of them.
//             Only a reply that obeys is deciphered for content.
//   figure    the (deciphered) reply starts with "<Figure>:" (any case); the prefix is removed.
//   hobby     the (deciphered) reply contains the hobby (any case).
// content is the first non-empty line of what is left, trimmed.
struct PersonaCheck {
  bool language = true, figure = true, hobby = true;
  std::string content;
  bool obeyed() const { return language && figure && hobby; }
};
PersonaCheck check_persona(const Persona& p, std::string_view reply);

}  // namespace wb::suite
