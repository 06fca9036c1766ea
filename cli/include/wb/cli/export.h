// export.h — shared by `wb dataset export` and `wb comparison export`: stream an NDJSON export
// from the daemon to stdout (byte for byte) or to a file.
#pragma once

#include <string>

#include "wb/cli/context.h"

namespace wb::cli {

// GETs `target` and writes the body unchanged to `out_path`, or to ctx.out when out_path is
// empty. With a file, prints a summary on ctx.out ("exported N rows to PATH", or with --json
// {"path","rows","bytes"}); the file is written to PATH.tmp first and renamed, so a failed
// export never leaves a partial file behind. Returns the exit code.
int export_ndjson(const Context& ctx, const std::string& target, const std::string& out_path);

}  // namespace wb::cli
