# The Debian package (CPack; scripts/package.sh builds it): pkg-config file,
# docs, copyright and changelog, then the package itself. Included by the top
# CMakeLists.txt after cmake/docs.cmake. The version is PROJECT_VERSION.
string(TIMESTAMP CREDVAULT_CHANGELOG_DATE "%a, %d %b %Y %H:%M:%S +0000" UTC)
set(CPACK_PACKAGE_CONTACT "credvault maintainers <credvault@example.org>")
configure_file(${CMAKE_CURRENT_LIST_DIR}/changelog.in ${CREDVAULT_DOCS_DIR}/changelog @ONLY)
configure_file(${CMAKE_CURRENT_LIST_DIR}/copyright.in ${CREDVAULT_DOCS_DIR}/copyright @ONLY)
configure_file(${CMAKE_CURRENT_LIST_DIR}/credvault.pc.in ${CREDVAULT_DOCS_DIR}/credvault.pc @ONLY)
add_custom_command(
  OUTPUT ${CREDVAULT_DOCS_DIR}/changelog.gz
  COMMAND sh -c "gzip -9nc ${CREDVAULT_DOCS_DIR}/changelog > ${CREDVAULT_DOCS_DIR}/changelog.gz"
  DEPENDS ${CREDVAULT_DOCS_DIR}/changelog
  VERBATIM)
add_custom_target(credvault_changelog ALL DEPENDS ${CREDVAULT_DOCS_DIR}/changelog.gz)
add_dependencies(credvault_docs credvault_changelog)

install(FILES ${CREDVAULT_DOCS_DIR}/credvault.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
install(FILES README.md SECURITY.md ${CREDVAULT_DOCS_DIR}/copyright ${CREDVAULT_DOCS_DIR}/changelog.gz
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR} FILES_MATCHING PATTERN "*.md")
# The declarative schema (beside the migrations folder), once the project has one.
install(FILES schema.sql DESTINATION ${CMAKE_INSTALL_DATADIR}/credvault OPTIONAL)

# --- the Debian package ------------------------------------------------------
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME credvault)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "credvault")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "encrypted API credentials in PostgreSQL, with online key rotation")
# The body only: CPack puts the summary above it, and turns the empty line
# into the " ." paragraph break.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "credvault keeps third-party API credentials AEAD-encrypted in a PostgreSQL
table, owns the schema migrations of that database, converts plaintext rows
to ciphertext and rotates the encryption key online, in batches, while
applications keep reading and writing.

This package holds the credvault command, the shared library libcredvault
with its headers, CMake package and pkg-config file, the migrations, man
pages and bash completion.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # credvault_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)       # Depends: computed by dpkg-shlibdeps
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON) # shlibs for libcredvault.so.0 (+ the ldconfig trigger)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# The ldconfig trigger Debian policy asks for with a shared library (CPack's
# own postinst/postrm call ldconfig directly too; lintian only warns on that).
file(WRITE ${CREDVAULT_DOCS_DIR}/deb/triggers "activate-noawait ldconfig\n")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${CREDVAULT_DOCS_DIR}/deb/triggers)
set(CPACK_STRIP_FILES ON)                    # debug info stays in the build folder
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
include(CPack)
