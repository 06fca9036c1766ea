// The web app (docs/WEB.md): its static files at GET / and GET /ui/<file>, and the demo's
// results at GET /v1/demo/results.
#include <fstream>
#include <sstream>

#include "handlers/handlers.h"
#include "http/api_error.h"
#include "web/assets.h"

namespace wb::daemon::handlers {

namespace {

Response asset(const std::string& name) {
  const auto bytes = web::find_asset(name);
  if (!bytes) throw not_found("no web page file '" + name + "'");
  Response r;
  r.content_type = std::string(web::content_type_of(name));
  r.body = std::string(*bytes);
  // The pages' scripts come from this daemon only; nothing else may run or load in them.
  r.headers.emplace_back("Content-Security-Policy",
                         "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Cache-Control", "no-cache");
  return r;
}

}  // namespace

Response web_index(App&, Request&) { return asset("index.html"); }

Response web_file(App&, Request& req) { return asset(req.params["file"]); }

// scripts/demo.sh writes <data_dir>/results.json when it ends; this answers that file as it is.
Response demo_results(App& app, Request&) {
  const auto path = app.config.data_dir / "results.json";
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw not_found("no demo results in this data directory (scripts/demo.sh writes " + path.string() + ")");
  std::ostringstream text;
  text << in.rdbuf();
  // Only a JSON object is answered, so a stray file cannot pass for results.
  auto j = nlohmann::json::parse(text.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object())
    throw ApiError(500, "internal", path.string() + " is not a JSON object");
  return json_response(200, j);
}

}  // namespace wb::daemon::handlers
