# wb_add_test_dir(PREFIX LIBS ... [LABELS l]): one Catch2 executable per test_*.cpp in the calling
# folder, each registered case by case with wb_discover_tests.

# wb_discover_tests(EXE PREFIX [LABELS]): catch_discover_tests with our conventions. Exit code 77
# (tests/common/wb_skip.h) is reported as skipped. `-w NoTests` makes a registered name that
# matches no test case FAIL: a TEST_CASE name with ';' is split in two by CMake's list syntax and
# each half would otherwise "pass" without running anything (it happened).
function(wb_discover_tests exe prefix)
  set(_labels "${ARGN}")
  if(_labels)
    catch_discover_tests(${exe} TEST_PREFIX "${prefix}:" EXTRA_ARGS -w NoTests
                         PROPERTIES LABELS "${_labels}" SKIP_RETURN_CODE 77)
  else()
    catch_discover_tests(${exe} TEST_PREFIX "${prefix}:" EXTRA_ARGS -w NoTests
                         PROPERTIES SKIP_RETURN_CODE 77)
  endif()
endfunction()

function(wb_add_test_dir prefix)
  set(options)
  set(oneValueArgs LABELS)
  set(multiValueArgs LIBS)
  cmake_parse_arguments(A "${options}" "${oneValueArgs}" "${multiValueArgs}" ${ARGN})
  file(GLOB _srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/test_*.cpp)
  foreach(src ${_srcs})
    get_filename_component(stem ${src} NAME_WE)
    set(exe ${prefix}_${stem})
    add_executable(${exe} ${src})
    target_link_libraries(${exe} PRIVATE wb_catch_main ${A_LIBS})
    target_include_directories(${exe} PRIVATE ${CMAKE_SOURCE_DIR}/tests/common)
    set_target_properties(${exe} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
    target_compile_definitions(${exe} PRIVATE
      WB_SOURCE_DIR="${CMAKE_SOURCE_DIR}" WB_BINARY_DIR="${CMAKE_BINARY_DIR}")
    wb_discover_tests(${exe} ${prefix} ${A_LABELS})
  endforeach()
endfunction()
