# serve_bench: the serving engine (plugins/serve's wb_serve_core, no HTTP) — tokens/s at several
# concurrency levels with one adapter vs distinct adapters in the same batch, time to first
# token, adapter load time; or (--url) any OpenAI-compatible server over HTTP (http_load.cpp).
# JSON lines on stdout; numbers in docs/PERFORMANCE.md.
if(TARGET wb_bench_util AND TARGET wb_serve_core AND TARGET CLI11::CLI11)
  add_executable(serve_bench ${CMAKE_CURRENT_LIST_DIR}/serve_bench.cpp ${CMAKE_CURRENT_LIST_DIR}/http_load.cpp)
  target_link_libraries(serve_bench PRIVATE wb_bench_util wb_serve_core CLI11::CLI11)
  target_include_directories(serve_bench PRIVATE ${CMAKE_SOURCE_DIR}/tests/common)
  set_target_properties(serve_bench PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)
endif()
