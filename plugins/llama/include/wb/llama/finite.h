// finite.h — weights read from a file must be finite numbers.
//
// A model or adapter whose weights hold NaN or infinity loads fine and then computes garbage (a
// NaN spreads through every product it touches). Readers check each tensor once as it is read
// (one pass over memory just written, cheap next to reading it):
//
//   first_non_finite(values)   // index of the first NaN/inf, or npos
#pragma once

#include <cmath>
#include <cstddef>
#include <span>
#include <string>

namespace wb::llama {

inline constexpr std::size_t kAllFinite = static_cast<std::size_t>(-1);

template <typename T>
std::size_t first_non_finite(std::span<const T> values) {
  for (std::size_t i = 0; i < values.size(); ++i)
    if (!std::isfinite(values[i])) return i;
  return kAllFinite;
}

// "<where>: tensor '<name>' holds a non-finite value (NaN or infinity) at element <i>" when one
// is found, empty otherwise: the caller throws its own error type with it.
template <typename T>
std::string non_finite_message(std::span<const T> values, const std::string& where, const std::string& name) {
  const std::size_t at = first_non_finite(values);
  if (at == kAllFinite) return {};
  return where + ": tensor '" + name + "' holds a non-finite value (NaN or infinity) at element " + std::to_string(at) +
         "; the file is damaged or the training that wrote it diverged";
}

}  // namespace wb::llama
