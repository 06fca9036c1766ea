# wb_add_plugin(NAME SOURCES...) builds a dlopen-able module into build/lib/workbench/plugins/
# exporting only wb_plugin_entry (everything else hidden).
function(wb_add_plugin name)
  add_library(${name} MODULE ${ARGN})
  set_target_properties(${name} PROPERTIES
    PREFIX "libwb_"
    LIBRARY_OUTPUT_DIRECTORY ${WB_PLUGIN_OUTPUT_DIR}
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  target_link_libraries(${name} PRIVATE wb_plugin_sdk)
endfunction()
