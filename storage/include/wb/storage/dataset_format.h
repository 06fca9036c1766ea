// wb/storage/dataset_format.h — dataset JSONL rows: strict validation and the canonical form.
//
// Row shapes (docs/PROTOCOL.md):
//   sft         {"messages":[{"role":"system|user|assistant","content":"...","weight":0|1}, ...]}
//               ("weight" optional, assistant messages only: 0 = context only, no loss; default 1)
//               or {"prompt":"...","completion":"..."}
//   preference  {"prompt","chosen","rejected"} + optional "rating" (integer 0..3),
//               "safety" (both_safe|chosen_safe|both_unsafe), "is_safety_prompt" (bool)
//   prompt      {"prompt"} + optional "system", "is_safety_prompt" (bool)
//   text        {"text"}: one document of plain text (pretraining); from a plain-text file,
//               parse_text() makes one row per non-blank line, or one row of the whole file
//
// Strict: every row is a JSON object; unknown fields, wrong types, empty required strings,
// blank lines and invalid JSON/UTF-8 are errors. sft messages must be a non-empty array, a
// "system" message may only come first, and at least one "assistant" message with weight 1
// (or none given) is required.
//
// Canonical form: compact JSON (no spaces), keys in the fixed order above (messages: role,
// content, weight; optional keys only when present), UTF-8 written as is (never \u-escaped), one row per
// line, "\n" after every line. Canonicalising a canonical line returns it unchanged, so
// export(import(x)) is a fixed point.
//
// Errors throw InvalidDataset with exactly "line N: field 'F': <problem>" (N 1-based), e.g.
//   line 5001: field 'rating': expected an integer 0..3, got 7
//   line 3: invalid JSON: <nlohmann parser message>
//   line 7: blank line
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "wb/storage/records.h"

namespace wb::storage {

// Validates one parsed row; returns its canonical text. `line` is used in error messages only.
// `unit` names what `line` counts ("line" for files, "row" for arrays of rows).
std::string canonical_row(DatasetKind kind, const nlohmann::json& row, std::int64_t line,
                          std::string_view unit = "line");

// Parses and validates one JSONL line (no trailing newline; one trailing '\r' is accepted).
std::string canonical_line(DatasetKind kind, std::string_view line, std::int64_t line_no);

// Splits a whole JSONL text into canonical rows. A final "\n" is optional; any empty line
// (including a second newline at the end) is an error. An empty text is an error ("no rows").
std::vector<std::string> parse_jsonl(DatasetKind kind, std::string_view text);

// How the text of an import is read: JSONL rows (every kind), or plain text for kind text: one
// document per non-blank line (Lines; a trailing '\r' is dropped) or the whole text as one
// document (Document).
enum class TextFormat { Jsonl, Lines, Document };

// Plain text as canonical text rows. Errors: InvalidDataset "line N: ..." (invalid UTF-8), or
// "no rows" when the text has no non-blank line.
std::vector<std::string> parse_text(std::string_view text, TextFormat format);

// Deterministic split rule: row `index` goes to eval when hash(index) / 2^64 < eval_fraction
// (hash = splitmix64). Independent of the content, the platform and the import order.
Split split_for_index(std::int64_t index, double eval_fraction);

}  // namespace wb::storage
