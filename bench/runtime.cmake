# CPU engine benchmarks: bench_decode (prefill/decode tokens/s vs the memory-bandwidth bound),
# bench_train (LoRA/full tokens/s and GFLOP/s vs a measured sgemm peak), bench_xent (the training
# loss's kernels, CPU time per row) and bench_ppo (one PPO iteration's generation and training
# tokens/s, over wb_rlhf_core). JSON lines on stdout.
find_package(CLI11 CONFIG QUIET)
if(TARGET wb_llama AND TARGET CLI11::CLI11)
  add_library(wb_bench_util STATIC ${CMAKE_CURRENT_LIST_DIR}/bench_util.cpp
              ${CMAKE_CURRENT_LIST_DIR}/prefill_products.cpp)
  target_include_directories(wb_bench_util PUBLIC ${CMAKE_CURRENT_LIST_DIR})
  target_link_libraries(wb_bench_util PUBLIC wb_llama)
  foreach(b bench_decode bench_train bench_xent)
    add_executable(${b} ${CMAKE_CURRENT_LIST_DIR}/${b}.cpp)
    target_link_libraries(${b} PRIVATE wb_bench_util CLI11::CLI11)
    set_target_properties(${b} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)
  endforeach()
  if(TARGET wb_rlhf_core)
    add_executable(bench_ppo ${CMAKE_CURRENT_LIST_DIR}/bench_ppo.cpp)
    target_link_libraries(bench_ppo PRIVATE wb_bench_util wb_rlhf_core CLI11::CLI11)
    set_target_properties(bench_ppo PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)
  endif()
endif()

# bench_data_parallel: the same training over MPI ranks (run under mpirun by scripts/bench.sh);
# only where the MPI collectives are built.
if(TARGET wb_bench_util AND TARGET wb_collectives_mpi)
  add_executable(bench_data_parallel ${CMAKE_CURRENT_LIST_DIR}/bench_data_parallel.cpp)
  target_link_libraries(bench_data_parallel PRIVATE wb_bench_util wb_collectives_mpi CLI11::CLI11)
  target_compile_definitions(bench_data_parallel PRIVATE OMPI_SKIP_MPICXX=1)
  set_target_properties(bench_data_parallel PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)
endif()
