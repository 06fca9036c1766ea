#include "wb/cli/export.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "wb/cli/errors.h"
#include "wb/cli/paths.h"
#include "wb/cli/output.h"

namespace wb::cli {

namespace fs = std::filesystem;

int export_ndjson(const Context& ctx, const std::string& target, const std::string& out_path) {
  const DaemonClient client = ctx.client();
  if (out_path.empty()) {
    client.stream(target, [&](std::string_view d) {
      ctx.out->write(d.data(), static_cast<std::streamsize>(d.size()));
      return static_cast<bool>(*ctx.out);
    });
    ctx.out->flush();
    if (!*ctx.out) throw Error("writing the export to stdout failed");
    return kExitOk;
  }

  const fs::path path = user_path(out_path);
  const fs::path tmp = path.string() + ".tmp";
  std::size_t bytes = 0, rows = 0;
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) throw Error("cannot write '" + path.string() + "': " + std::strerror(errno));
    try {
      client.stream(target, [&](std::string_view d) {
        f.write(d.data(), static_cast<std::streamsize>(d.size()));
        bytes += d.size();
        for (char c : d) rows += c == '\n';
        return static_cast<bool>(f);
      });
      f.close();
      if (!f) throw Error("writing '" + path.string() + "' failed: " + std::strerror(errno));
    } catch (...) {
      std::error_code ec;
      fs::remove(tmp, ec);
      throw;
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw Error("cannot write '" + path.string() + "': " + ec.message());
  }
  if (ctx.opts.json) {
    print_json(*ctx.out, {{"path", path.string()}, {"rows", rows}, {"bytes", bytes}});
  } else {
    *ctx.out << "exported " << rows << " rows to " << path.string() << '\n';
  }
  return kExitOk;
}

}  // namespace wb::cli
