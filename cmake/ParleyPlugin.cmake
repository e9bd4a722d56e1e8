# parley_add_plugin(NAME SOURCES... [LIBS libs...])
# Builds a plugin as a MODULE named NAME.so, against the public header only.
# Usable in-tree and out of tree (include this file, or use parley-plugin.pc).
function(parley_add_plugin name)
  cmake_parse_arguments(P "" "" "SOURCES;LIBS" ${ARGN})
  if(NOT P_SOURCES)
    set(P_SOURCES ${P_UNPARSED_ARGUMENTS})
  endif()
  add_library(${name} MODULE ${P_SOURCES})
  set_target_properties(${name} PROPERTIES PREFIX "" C_VISIBILITY_PRESET hidden
    LIBRARY_OUTPUT_DIRECTORY "${PARLEY_PLUGIN_OUTPUT_DIR}")
  if(PARLEY_PLUGIN_INCLUDE_DIR)
    target_include_directories(${name} PRIVATE "${PARLEY_PLUGIN_INCLUDE_DIR}")
  endif()
  if(P_LIBS)
    target_link_libraries(${name} PRIVATE ${P_LIBS})
  endif()
endfunction()
