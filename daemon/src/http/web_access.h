// web_access.h — what the web pages and annotator tokens may reach, decided from the header alone.
//
// An annotator token (POST /v1/annotators prints it; only its hash is stored) may label and no
// more: the web app's static files, GET /v1/comparisons/next, POST /v1/comparisons and
// GET /v1/annotators/me. Every other route answers 403 `forbidden` naming the rule, on both
// listeners. The Unix socket without a token, and the TCP admin token (tcp.token), keep the
// access they have (tcp_listener.h says which routes the admin token reaches over TCP).
#pragma once

#include <optional>
#include <string>

#include "http/message.h"

namespace wb::daemon {

// GET / and GET /ui/<file>: the web app's static files (no token needed: a browser's navigation
// cannot send one; the pages ask for the token and send it with each API call).
bool is_web_static(const std::string& method, const std::string& path);

// The routes an annotator token may use: the static files and the labeling routes.
bool annotator_may(const std::string& method, const std::string& path);

// The routes the web pages call with the admin token over TCP (read-only views of jobs, metrics,
// label statistics and demo results, and the labeling routes).
bool web_admin_route(const std::string& method, const std::string& path);

// The text after "Bearer " in the Authorization header; nullopt without one.
std::optional<std::string> bearer_token(const Request& head);

// The 403 answer's message for an annotator token on another route.
std::string annotator_forbidden_message(const std::string& method, const std::string& path);

}  // namespace wb::daemon
