// libwb_serve.so through dlopen and its wb_serving table, as the daemon uses it: load a model and
// adapters, submit with the C event callback, stats JSON, error statuses, cancel, unload.
#include <catch2/catch.hpp>

#include <dlfcn.h>

#include <memory>
#include <string>

#include "serve_fixture.h"
#include "wb/wb_plugin.h"

using namespace servetest;

namespace {

struct DlClose {
  void operator()(void* h) const { ::dlclose(h); }
};

// A host table with a store that knows one adapter by name ("trained" -> its path).
std::string g_trained_path;
void host_log(void*, wb_log_level, const char*) {}
wb_status host_lookup(void*, wb_job*, const char* kind, const char* name, wb_emit_fn emit, void* user, wb_error* err) {
  if (std::string(kind) == "adapter" && std::string(name) == "trained") {
    emit(user, json{{"name", "trained"}, {"path", g_trained_path}}.dump().c_str());
    return WB_OK;
  }
  wb_error_set(err, (std::string(kind) + " '" + name + "' not found").c_str());
  return WB_NOT_FOUND;
}

struct Plugin {
  std::unique_ptr<void, DlClose> handle{::dlopen(WB_SERVE_PLUGIN_PATH, RTLD_NOW | RTLD_LOCAL)};
  const wb_plugin* p = nullptr;
  const wb_serving* s = nullptr;
  wb_host host{};
  wb_error err{};

  Plugin() {
    REQUIRE(handle);
    auto entry = reinterpret_cast<wb_plugin_entry_fn>(::dlsym(handle.get(), WB_PLUGIN_ENTRY_SYMBOL));
    REQUIRE(entry);
    p = entry();
    REQUIRE(p->abi_version == WB_PLUGIN_ABI_VERSION);
    REQUIRE(std::string(p->name) == "serve");
    s = p->serving;
    REQUIRE(s);
    REQUIRE(s->struct_size == sizeof(wb_serving));
    host.abi_version = WB_PLUGIN_ABI_VERSION;
    host.struct_size = sizeof(wb_host);
    host.log = host_log;
    host.lookup = host_lookup;
    REQUIRE(p->init(&host, "{}", &err) == WB_OK);
  }
  ~Plugin() { p->shutdown(); }

  json stats() {
    std::string out;
    REQUIRE(s->stats([](void* u, const char* t) { *static_cast<std::string*>(u) = t; }, &out, &err) == WB_OK);
    return json::parse(out);
  }
  wb_status submit(const json& req, Collector& c, uint64_t* id = nullptr) {
    uint64_t local = 0;
    return s->submit(req.dump().c_str(),
                     [](void* u, const char* ev) { return static_cast<Collector*>(u)->on_event(ev) ? 0 : 1; }, &c,
                     id ? id : &local, &err);
  }
};

}  // namespace

TEST_CASE("the serve plugin serves a model and adapters through its C table") {
  TempDir dir("wb-serve-so");
  const auto config = tiny_config();
  write_model(dir / "model", config, 3);
  g_trained_path = write_adapter(dir / "trained", config, 8).string();
  write_adapter(dir / "peft", config, 9);
  Plugin pl;

  CHECK(pl.stats()["model"].is_null());
  Collector none;
  CHECK(pl.submit({{"prompt", {1, 2}}}, none) == WB_NOT_FOUND);
  CHECK_THAT(pl.err.message, Catch::Contains("no model"));

  CHECK(pl.s->load_model(json{{"name", "tiny"}, {"path", (dir / "missing").string()}}.dump().c_str(), &pl.err) == WB_NOT_FOUND);
  CHECK(pl.s->load_model(json{{"path", (dir / "model").string()}, {"max_batch", "8"}}.dump().c_str(), &pl.err) == WB_INVALID);
  CHECK_THAT(pl.err.message, Catch::Contains("max_batch"));
  CHECK(pl.s->load_model("{not json", &pl.err) == WB_INVALID);
  REQUIRE(pl.s->load_model(json{{"name", "tiny"}, {"path", (dir / "model").string()}, {"max_batch", 4}, {"device", "auto"}}
                               .dump().c_str(),
                           &pl.err) == WB_OK);

  // By name from the store, and a PEFT directory by path.
  REQUIRE(pl.s->load_adapter(R"({"name":"trained"})", &pl.err) == WB_OK);
  REQUIRE(pl.s->load_adapter(json{{"name", "peft"}, {"path", (dir / "peft").string()}, {"scale", 0.5}}.dump().c_str(),
                             &pl.err) == WB_OK);
  CHECK(pl.s->load_adapter(R"({"name":"ghost"})", &pl.err) == WB_NOT_FOUND);
  CHECK(pl.s->load_adapter(R"({"name":"x","path":"/nonexistent/adapter"})", &pl.err) == WB_NOT_FOUND);
  CHECK(pl.s->load_adapter(R"({"name":"x","path":"/tmp","extra":1})", &pl.err) == WB_INVALID);

  Collector a, b;
  uint64_t id = 0;
  REQUIRE(pl.submit({{"prompt", {1, 5, 9, 13}}, {"model", "trained"}, {"max_tokens", 6}, {"temperature", 0},
                     {"ignore_eos", true}},
                    a, &id) == WB_OK);
  CHECK(id > 0);
  REQUIRE(pl.submit({{"prompt", {1, 5, 9, 13}}, {"model", "peft"}, {"max_tokens", 6}, {"seed", 4}, {"ignore_eos", true}}, b) ==
          WB_OK);
  const json da = a.wait(), db = b.wait();
  CHECK(da["finish_reason"] == "length");
  CHECK(da["usage"] == json{{"prompt_tokens", 4}, {"completion_tokens", 6}, {"total_tokens", 10}});
  CHECK(da["adapter"] == "trained");
  CHECK(db["adapter"] == "peft");
  CHECK(a.tokens.size() == 6);

  json st = pl.stats();
  CHECK(st["model"] == "tiny");
  // "auto" served where it could: the CPU here, or the GPU where one answers (serve_device.h).
  CHECK(st["device_requested"] == "auto");
  CHECK((st["device"] == "cpu" || st["device"] == "cuda"));
  if (st["device"] == "cpu") CHECK_THAT(st["device_note"].get<std::string>(), Catch::Contains("auto"));
  CHECK(st["adapters"].size() == 2);
  CHECK(st["adapters"][0]["name"] == "peft");
  CHECK(st["adapters"][0]["scale"] == 0.5);
  CHECK(st["adapters"][0]["rank"] == 4);
  CHECK(st["adapters"][0]["refs"] == 0);
  CHECK(st["metrics"]["requests_total"] == 2);
  CHECK(st["metrics"]["completion_tokens_total"] == 12);
  CHECK(st["metrics"]["ttft_seconds"]["count"] == 2);
  CHECK(st["running"] == 0);
  CHECK(st["queued"] == 0);

  CHECK(pl.s->unload_adapter("peft", &pl.err) == WB_OK);
  Collector c;
  CHECK(pl.submit({{"prompt", {1, 2}}, {"model", "peft"}}, c) == WB_NOT_FOUND);
  CHECK_THAT(pl.err.message, Catch::Contains("peft"));
  CHECK(pl.s->unload_adapter("peft", &pl.err) == WB_NOT_FOUND);
  CHECK(pl.s->cancel(123456) == WB_NOT_FOUND);

  // Unloading the model ends what runs: a long request gets its done event ("cancelled").
  Collector longrun;
  REQUIRE(pl.submit({{"prompt", {1, 2, 3}}, {"max_tokens", 100000}, {"ignore_eos", true}}, longrun) == WB_OK);
  REQUIRE(pl.s->unload_model(&pl.err) == WB_OK);
  CHECK(longrun.wait()["finish_reason"] != nullptr);
  CHECK(pl.stats()["model"].is_null());
  CHECK(pl.s->unload_model(&pl.err) == WB_NOT_FOUND);
}
