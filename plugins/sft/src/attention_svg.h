// attention_svg.h — the multi-turn eval's heatmap of attention on the system instruction (the
// Llama 2 paper's Figure 10) as a self-contained SVG: one row per layer (layer 0 at the top), one
// column per turn, each cell shaded from white (0) to dark blue (the largest share in the map)
// and labeled with its share in percent; a cell without data (null) stays grey and unlabeled.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace wb::sft {

// share[layer][turn - 1] in [0, 1]. `title` is escaped for XML.
std::string attention_heatmap_svg(const std::vector<std::vector<std::optional<double>>>& share, const std::string& title);

}  // namespace wb::sft
