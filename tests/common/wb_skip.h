// WB_SKIP(reason): ends the current test case as "skipped". Catch2 v2 has no skip, so the process
// exits with code 77, which every test registered through wb_add_test_dir maps to CTest's
// "Skipped" (SKIP_RETURN_CODE). CTest runs each case in its own process, so no other case is lost.
#pragma once
#include <cstdio>
#include <cstdlib>

#define WB_SKIP(reason)                                                   \
  do {                                                                    \
    std::fprintf(stderr, "SKIPPED: %s\n", static_cast<const char*>(reason)); \
    std::fflush(stderr);                                                  \
    std::exit(77);                                                        \
  } while (0)
