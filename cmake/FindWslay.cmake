# wslay: Debian ships a .pc file only in some versions; find it directly.
find_path(WSLAY_INCLUDE_DIR wslay/wslay.h)
find_library(WSLAY_LIBRARY NAMES wslay)
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(Wslay DEFAULT_MSG WSLAY_LIBRARY WSLAY_INCLUDE_DIR)
if(Wslay_FOUND AND NOT TARGET Wslay::wslay)
  add_library(Wslay::wslay UNKNOWN IMPORTED)
  set_target_properties(Wslay::wslay PROPERTIES IMPORTED_LOCATION "${WSLAY_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${WSLAY_INCLUDE_DIR}")
endif()
