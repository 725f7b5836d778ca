# xformer_add_library(name SOURCES... [DEPENDS targets...] [LINK_LIBS libs...])
#
# A static library of the project, compiled against MLIR's and LLVM's shared
# libraries, exported for downstream find_package(Xformer).
function(xformer_add_library name)
  cmake_parse_arguments(ARG "" "" "DEPENDS;LINK_LIBS" ${ARGN})
  add_library(${name} STATIC ${ARG_UNPARSED_ARGUMENTS})
  add_library(Xformer::${name} ALIAS ${name})
  set_target_properties(${name} PROPERTIES POSITION_INDEPENDENT_CODE ON)
  target_include_directories(${name} PUBLIC
    "$<BUILD_INTERFACE:${XFORMER_INCLUDE_DIRS}>"
    "$<INSTALL_INTERFACE:include>")
  if(ARG_DEPENDS)
    add_dependencies(${name} ${ARG_DEPENDS})
  endif()
  target_link_libraries(${name} PUBLIC ${ARG_LINK_LIBS} MLIR LLVM)
  set_property(GLOBAL APPEND PROPERTY XFORMER_EXPORTED_LIBS ${name})
endfunction()
