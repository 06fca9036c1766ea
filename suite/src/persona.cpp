#include "wb/suite/persona.h"

#include <algorithm>
#include <cctype>

#include "wb/suite/instruction.h"

namespace wb::suite {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool contains_ci(std::string_view hay, std::string_view needle) {
  return lower(hay).find(lower(needle)) != std::string::npos;
}

bool has_marker(std::string_view s) {
  for (const char* m : {"answer", "cannot", "can't", "won't"})
    if (contains_ci(s, m)) return true;
  return false;
}

std::string shift(std::string_view s, int by) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>('a' + (c - 'a' + by + 26) % 26);
    else if (c >= 'A' && c <= 'Z') c = static_cast<char>('A' + (c - 'A' + by + 26) % 26);
  }
  return out;
}

std::vector<std::string> parts(const Persona& p) {
  std::vector<std::string> out;
  if (p.language != Language::none) {
    const bool caps = p.language == Language::capitals;
    if (p.short_form) out.push_back(caps ? "Language: capitals" : "Language: cipher");
    else
      out.push_back(caps ? "Always answer in capital letters."
                         : "Always answer in the shift cipher: write every letter as the next one in the "
                           "alphabet (z becomes a).");
  }
  if (!p.figure.empty())
    out.push_back(p.short_form ? "Figure: " + p.figure
                               : "Always act as " + p.figure + " from now: begin every answer with '" +
                                     p.figure + ":'.");
  if (!p.hobby.empty())
    out.push_back(p.short_form ? "Hobby: " + p.hobby
                               : "You love " + p.hobby + ": mention " + p.hobby + " in every answer.");
  return out;
}

}  // namespace

int Persona::kinds() const {
  return (language != Language::none ? 1 : 0) + (figure.empty() ? 0 : 1) + (hobby.empty() ? 0 : 1);
}

const std::vector<std::string>& persona_figures() {
  static const std::vector<std::string> v = {"Mirela", "Dovan", "Kasimo", "Telu", "Rubana", "Fenor"};
  return v;
}

const std::vector<std::string>& persona_hobbies() {
  static const std::vector<std::string> v = {"sailing", "chess", "gardening", "painting", "fishing", "singing"};
  return v;
}

std::string persona_text(const Persona& p) {
  std::string out;
  for (const auto& part : parts(p)) {
    if (!out.empty()) out += p.short_form ? ", " : " ";
    out += part;
  }
  return out;
}

std::optional<Persona> persona_from_text(std::string_view system) {
  system = trim(system);
  if (system.empty()) return std::nullopt;
  // The space of personas is small (a few hundred), so matching by enumeration is exact.
  const std::vector<std::string> none = {""};
  std::vector<std::string> figures = none, hobbies = none;
  figures.insert(figures.end(), persona_figures().begin(), persona_figures().end());
  hobbies.insert(hobbies.end(), persona_hobbies().begin(), persona_hobbies().end());
  for (Language l : {Language::none, Language::capitals, Language::cipher})
    for (const auto& f : figures)
      for (const auto& h : hobbies)
        for (bool s : {false, true}) {
          Persona p{l, f, h, s};
          if (p.kinds() > 0 && persona_text(p) == system) return p;
        }
  return std::nullopt;
}

Persona random_persona(Rng& rng) {
  Persona p;
  const int skip = static_cast<int>(rng.below(3));  // the kind left out
  if (skip != 0) p.language = rng.chance(0.5) ? Language::capitals : Language::cipher;
  if (skip != 1) p.figure = rng.pick(persona_figures());
  if (skip != 2) p.hobby = rng.pick(persona_hobbies());
  p.short_form = rng.chance(0.5);
  return p;
}

std::string shift_cipher(std::string_view s) { return shift(s, 1); }
std::string shift_decipher(std::string_view s) { return shift(s, -1); }

std::string apply_persona(const Persona& p, std::string_view reply) {
  std::string out(reply);
  if (!p.hobby.empty()) out += "\nI love " + p.hobby + ".";
  if (!p.figure.empty()) out = p.figure + ": " + out;
  if (p.language == Language::capitals) out = upper(out);
  if (p.language == Language::cipher) out = shift_cipher(out);
  return out;
}

PersonaCheck check_persona(const Persona& p, std::string_view reply) {
  PersonaCheck c;
  std::string text(trim(reply));
  if (p.language == Language::capitals) {
    const bool any_lower = std::any_of(text.begin(), text.end(), [](char ch) { return std::islower(static_cast<unsigned char>(ch)); });
    const bool any_upper = std::any_of(text.begin(), text.end(), [](char ch) { return std::isupper(static_cast<unsigned char>(ch)); });
    c.language = any_upper && !any_lower;
  } else if (p.language == Language::cipher) {
    const std::string plain = shift_decipher(text);
    c.language = has_marker(plain) && !has_marker(text);
    if (c.language) text = plain;
  }
  if (!p.figure.empty()) {
    const std::string prefix = lower(p.figure) + ":";
    c.figure = lower(text).rfind(prefix, 0) == 0;
    if (c.figure) text = text.substr(prefix.size());
  }
  if (!p.hobby.empty()) c.hobby = contains_ci(text, p.hobby);
  size_t pos = 0;
  while (pos <= text.size()) {
    const size_t nl = text.find('\n', pos);
    const std::string_view line = trim(std::string_view(text).substr(pos, nl == std::string::npos ? std::string::npos : nl - pos));
    if (!line.empty()) {
      c.content = std::string(line);
      break;
    }
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  return c;
}

}  // namespace wb::suite
