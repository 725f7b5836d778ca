# Install the dialect libraries, headers (sources and generated .inc files),
# tools and a CMake package so a downstream project can find_package(Xformer).
include(CMakePackageConfigHelpers)
include(GNUInstallDirs)

get_property(xformer_libs GLOBAL PROPERTY XFORMER_EXPORTED_LIBS)
install(TARGETS ${xformer_libs}
  EXPORT XformerTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS xformer-opt xformer-compile xformer-run xformer-tokenize xformer-translate RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

foreach(root ${PROJECT_SOURCE_DIR}/dialects ${PROJECT_SOURCE_DIR}/include
             ${PROJECT_BINARY_DIR}/dialects ${PROJECT_BINARY_DIR}/include)
  install(DIRECTORY ${root}/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
    FILES_MATCHING PATTERN "*.h" PATTERN "*.cuh" PATTERN "*.def"
    PATTERN "*.inc" PATTERN "*.td"
    PATTERN "CMakeFiles" EXCLUDE)
endforeach()

string(REPLACE ";" " " XFORMER_EXPORTED_LIBS_LIST "${xformer_libs}")
set(XFORMER_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/Xformer)
install(EXPORT XformerTargets NAMESPACE Xformer:: DESTINATION ${XFORMER_CMAKE_DIR})
configure_package_config_file(cmake/XformerConfig.cmake.in
  ${PROJECT_BINARY_DIR}/XformerConfig.cmake
  INSTALL_DESTINATION ${XFORMER_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/XformerConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/XformerConfig.cmake
              ${PROJECT_BINARY_DIR}/XformerConfigVersion.cmake
        DESTINATION ${XFORMER_CMAKE_DIR})
