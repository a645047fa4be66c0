# Forced-clock ("hour-proof") test variants: the browser and feeder
# integration tests run once more with the services' wall clock set late in
# the evening in zones far from UTC on DST days, through Debian's libfaketime
# (LD_PRELOAD, monotonic clocks left real) and TZ. Included by
# tests/browser/CMakeLists.txt and tests/integration/feeder/CMakeLists.txt.
#
# Sets IOD_FAKETIME_TESTS_ENABLED, IOD_FAKETIME_LIB and IOD_FAKETIME_PROG.
# The variants carry the extra label "faketime" (ctest -LE faketime leaves
# them out). They are not registered under IOD_SANITIZE: ASan insists on
# being first in the preload list, and a preloaded libfaketime comes first.

option(IOD_FAKETIME_TESTS "Register the forced-clock test variants (needs libfaketime)" ON)

find_library(IOD_FAKETIME_LIB NAMES libfaketime.so.1 faketime
  PATHS /usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}/faketime /usr/lib/faketime /usr/local/lib/faketime
  NO_DEFAULT_PATH)
find_program(IOD_FAKETIME_PROG faketime)

# Included from two directories: decide (and say) once.
set(IOD_FAKETIME_TESTS_ENABLED OFF)
set(_why "")
if(NOT IOD_FAKETIME_TESTS)
  set(_why "off (IOD_FAKETIME_TESTS=OFF)")
elseif(IOD_SANITIZE)
  set(_why "not under IOD_SANITIZE (\"ASan runtime does not come first in initial library list\")")
elseif(NOT IOD_FAKETIME_LIB OR NOT IOD_FAKETIME_PROG)
  set(_why "libfaketime/faketime not found (Debian: faketime), not registered")
else()
  set(IOD_FAKETIME_TESTS_ENABLED ON)
endif()
get_property(_said GLOBAL PROPERTY IOD_FAKETIME_SAID)
if(_why AND NOT _said)
  message(STATUS "forced-clock test variants: ${_why}")
  set_property(GLOBAL PROPERTY IOD_FAKETIME_SAID ON)
endif()
