// wb/storage/dataset_format.h — dataset JSONL rows: strict validation and the canonical form.
//
// Row shapes (docs/PROTOCOL.md):
//   sft         {"messages":[{"role":"system|user|assistant","content":"...","weight":0|1}, ...]}
//               ("weight" optional, assistant messages only: 0 = context only, no loss; default 1)
//               or {"prompt":"...","completion":"..."}
//   preference  {"prompt","chosen","rejected"} + optional "rating" (integer 0..3),
//               "safety" (both_safe|chosen_safe|both_unsafe), "is_safety_prompt" (bool)
//   prompt      {"prompt"} + optional "system", "is_safety_prompt" (bool)
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

// Deterministic split rule: row `index` goes to eval when hash(index) / 2^64 < eval_fraction
// (hash = splitmix64). Independent of the content, the platform and the import order.
Split split_for_index(std::int64_t index, double eval_fraction);

}  // namespace wb::storage
