#include "http/router.h"

#include "http/api_error.h"

namespace wb::daemon {

std::string url_decode(const std::string& s, bool form) {
  std::string out;
  out.reserve(s.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else if (form && s[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> segs;
  std::size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') { ++i; continue; }
    std::size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    segs.push_back(url_decode(path.substr(i, j - i), false));
    i = j;
  }
  return segs;
}

void Router::add(std::string method, std::string pattern, Handler handler, Runs runs) {
  Route r{std::move(method), pattern, split_path(pattern), std::move(handler), runs};
  routes_.push_back(std::move(r));
}

Router::Runs Router::runs(const std::string& method, const std::string& path) const {
  bool path_matched = false;
  std::vector<std::string> allowed;
  const Route* r = match(method, split_path(path), path_matched, allowed);
  return r ? r->runs : Runs::OnIo;
}

const Router::Route* Router::match(const std::string& method, const std::vector<std::string>& segs,
                                   bool& path_matched, std::vector<std::string>& allowed) const {
  const Route* best = nullptr;
  int best_literals = -1;
  for (const Route& r : routes_) {
    if (r.segments.size() != segs.size()) continue;
    int literals = 0;
    bool ok = true;
    for (std::size_t i = 0; i < segs.size() && ok; ++i) {
      const std::string& p = r.segments[i];
      bool capture = p.size() >= 2 && p.front() == '{' && p.back() == '}';
      if (capture) ok = !segs[i].empty();
      else if (p == segs[i]) ++literals;
      else ok = false;
    }
    if (!ok) continue;
    path_matched = true;
    if (r.method != method) { allowed.push_back(r.method); continue; }
    if (literals > best_literals) { best = &r; best_literals = literals; }
  }
  return best;
}

Response Router::dispatch(Request& req) const {
  std::vector<std::string> segs = split_path(req.path);
  bool path_matched = false;
  std::vector<std::string> allowed;
  const Route* best = match(req.method, segs, path_matched, allowed);
  if (!best) {
    if (path_matched) {
      std::string list;
      for (auto& m : allowed) list += (list.empty() ? "" : ", ") + m;
      throw ApiError(405, "method_not_allowed",
                     "method " + req.method + " is not allowed on " + req.path + " (allowed: " + list + ")");
    }
    throw not_found("no route for " + req.method + " " + req.path);
  }
  for (std::size_t i = 0; i < segs.size(); ++i) {
    const std::string& p = best->segments[i];
    if (p.size() >= 2 && p.front() == '{' && p.back() == '}') req.params[p.substr(1, p.size() - 2)] = segs[i];
  }
  req.route = best->pattern;
  return best->handler(req);
}

}  // namespace wb::daemon
