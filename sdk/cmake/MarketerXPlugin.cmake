# mx_add_plugin(<name> SOURCES <files...> [LIBS <targets...>] [TESTS <files...>]
#               [OUTPUT_DIR <dir>] [NO_INSTALL])
#
# Builds <name>.so, a MarketerX plugin: compiled once into an object library,
# linked into a MODULE (hidden visibility: only the MX_PLUGIN front door is
# exported) and into a static library <name>_static that the plugin's unit
# tests link, so tests exercise exactly the code that ships.
include_guard(GLOBAL)

function(mx_add_plugin name)
  cmake_parse_arguments(PARSE_ARGV 1 ARG "NO_INSTALL" "OUTPUT_DIR" "SOURCES;LIBS;TESTS")
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "mx_add_plugin(${name}): SOURCES is required")
  endif()
  if(TARGET mx_sdk)
    set(sdk mx_sdk)
    set(sdk_testing mx_sdk_testing)
  else()
    set(sdk MarketerX::sdk)
    set(sdk_testing MarketerX::sdk_testing)
  endif()

  add_library(${name}_objects OBJECT ${ARG_SOURCES})
  set_target_properties(${name}_objects PROPERTIES
    POSITION_INDEPENDENT_CODE ON
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  target_link_libraries(${name}_objects PUBLIC ${sdk} ${ARG_LIBS})
  if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/src)
    target_include_directories(${name}_objects PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/src)
  endif()

  add_library(${name} MODULE $<TARGET_OBJECTS:${name}_objects>)
  target_link_libraries(${name} PRIVATE ${name}_objects)
  set_target_properties(${name} PROPERTIES PREFIX "")
  if(ARG_OUTPUT_DIR)
    set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${ARG_OUTPUT_DIR})
  elseif(DEFINED MX_PLUGIN_OUTPUT_DIR)
    set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${MX_PLUGIN_OUTPUT_DIR})
  endif()

  add_library(${name}_static STATIC $<TARGET_OBJECTS:${name}_objects>)
  target_link_libraries(${name}_static PUBLIC ${name}_objects)

  if(NOT ARG_NO_INSTALL)
    if(DEFINED MX_PLUGIN_INSTALL_DIR)
      install(TARGETS ${name} LIBRARY DESTINATION ${MX_PLUGIN_INSTALL_DIR})
    elseif(DEFINED MARKETERX_PLUGIN_DIR)
      install(TARGETS ${name} LIBRARY DESTINATION lib/marketerx/plugins)
    endif()
  endif()

  if(ARG_TESTS AND TARGET GTest::gtest_main)
    add_executable(${name}_test ${ARG_TESTS})
    target_link_libraries(${name}_test PRIVATE ${name}_static ${sdk_testing} GTest::gtest_main GTest::gmock)
    gtest_discover_tests(${name}_test DISCOVERY_TIMEOUT 30)
  endif()
endfunction()
