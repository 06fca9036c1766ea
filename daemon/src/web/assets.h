// assets.h — the web app's static files (daemon/web/), embedded in the binary at build time by
// cmake/EmbedFiles.cmake, served by handlers/web.cpp at GET / and GET /ui/<file>.
#pragma once

#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace wb::daemon::web {

// Every file as (file name, bytes), in the order CMake lists them.
const std::vector<std::pair<std::string_view, std::string_view>>& assets();

// The bytes of `name` ("label.html"); nullopt when there is no such file.
inline std::optional<std::string_view> find_asset(std::string_view name) {
  for (const auto& [n, bytes] : assets())
    if (n == name) return bytes;
  return std::nullopt;
}

// The Content-Type for a file name, by its extension.
inline std::string_view content_type_of(std::string_view name) {
  auto ends = [&](std::string_view ext) {
    return name.size() >= ext.size() && name.substr(name.size() - ext.size()) == ext;
  };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  return "application/octet-stream";
}

}  // namespace wb::daemon::web
