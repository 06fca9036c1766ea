# GPU benchmarks (need the CUDA backend; each prints JSON lines and a "skipped" line without a
# device). gpu_llama and gpu_parity drive bench/gpu_model.* — a Llama decoder on wb_kernels_cuda
# — and need the engine's formats (wb_llama) for configs, checkpoints and PEFT adapters.
if(TARGET wb_kernels_cuda)
  add_executable(gpu_kernels ${CMAKE_CURRENT_LIST_DIR}/gpu_kernels.cpp)
  target_link_libraries(gpu_kernels PRIVATE wb_kernels_cuda)
  set_target_properties(gpu_kernels PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)

  if(TARGET wb_llama)
    add_library(wb_gpu_model STATIC ${CMAKE_CURRENT_LIST_DIR}/gpu_model.cpp)
    target_include_directories(wb_gpu_model PUBLIC ${CMAKE_CURRENT_LIST_DIR})
    target_link_libraries(wb_gpu_model PUBLIC wb_kernels_cuda wb_llama)
    foreach(b gpu_llama gpu_parity)
      add_executable(${b} ${CMAKE_CURRENT_LIST_DIR}/${b}.cpp)
      target_link_libraries(${b} PRIVATE wb_gpu_model)
      set_target_properties(${b} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)
    endforeach()
  endif()
endif()
