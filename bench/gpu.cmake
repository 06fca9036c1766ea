# GPU benchmarks (need the CUDA backend; each prints JSON lines and a "skipped" line without a
# device). gpu_llama and gpu_parity drive the engine's GPU model (wb_llama_cuda,
# plugins/llama/include/wb/llama/cuda/gpu_llama.h).
if(TARGET wb_kernels_cuda)
  add_executable(gpu_kernels ${CMAKE_CURRENT_LIST_DIR}/gpu_kernels.cpp)
  target_link_libraries(gpu_kernels PRIVATE wb_kernels_cuda)
  set_target_properties(gpu_kernels PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)

  if(TARGET wb_llama_cuda)
    foreach(b gpu_llama gpu_parity)
      add_executable(${b} ${CMAKE_CURRENT_LIST_DIR}/${b}.cpp)
      target_link_libraries(${b} PRIVATE wb_llama_cuda)
      set_target_properties(${b} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)
    endforeach()
  endif()
endif()
