# build/bin/wb-engine: developer commands over the engine alone (init, forward, generate, merge,
# and — when libwb_tokenizer is built — tokenize plus text prompts). Included from
# plugins/llama/CMakeLists.txt. Without wb_tokenizer (engine-only builds on machines lacking
# sentencepiece) the tool still builds: `tokenize` is absent and generate takes --prompt-ids.
find_package(CLI11 CONFIG QUIET)
if(TARGET wb_llama AND TARGET CLI11::CLI11)
  add_executable(wb-engine
    ${CMAKE_CURRENT_LIST_DIR}/wb_engine_main.cpp
    ${CMAKE_CURRENT_LIST_DIR}/cmd_init.cpp
    ${CMAKE_CURRENT_LIST_DIR}/cmd_tokenize.cpp
    ${CMAKE_CURRENT_LIST_DIR}/cmd_forward.cpp
    ${CMAKE_CURRENT_LIST_DIR}/cmd_generate.cpp
    ${CMAKE_CURRENT_LIST_DIR}/cmd_merge.cpp
    ${CMAKE_CURRENT_LIST_DIR}/tool_util.cpp
    ${CMAKE_CURRENT_LIST_DIR}/chat_json.cpp)
  target_link_libraries(wb-engine PRIVATE wb_llama CLI11::CLI11)
  if(TARGET wb_tokenizer)
    target_link_libraries(wb-engine PRIVATE wb_tokenizer)
    target_compile_definitions(wb-engine PRIVATE WB_ENGINE_HAVE_TOKENIZER=1)
  endif()
elseif(TARGET wb_llama)
  message(STATUS "wb-engine: CLI11 not found, tool skipped")
endif()
