# Man pages and bash completion, generated from the CLI definition by the
# hidden `credvault gen-docs` command into build/docs-generated/, and their
# install rules. Included by the top CMakeLists.txt after the credvault target.
set(CREDVAULT_DOCS_DIR ${CMAKE_CURRENT_BINARY_DIR}/docs-generated)
add_custom_command(
  OUTPUT ${CREDVAULT_DOCS_DIR}/stamp
  COMMAND ${CMAKE_COMMAND} -E rm -rf ${CREDVAULT_DOCS_DIR}/man
  # (detect_leaks=0: an ASan build runs it here without the tests' LSan suppressions.)
  COMMAND ${CMAKE_COMMAND} -E env --unset=CREDVAULT_CONFIG --unset=CREDVAULT_METRICS_FILE ASAN_OPTIONS=detect_leaks=0
          $<TARGET_FILE:credvault> gen-docs --man-dir ${CREDVAULT_DOCS_DIR}/man
          --bash-completion ${CREDVAULT_DOCS_DIR}/credvault.bash-completion
  # gzip -n: no name or time stamp inside, so the package is reproducible.
  COMMAND sh -c "gzip -9nf ${CREDVAULT_DOCS_DIR}/man/*.1"
  COMMAND ${CMAKE_COMMAND} -E touch ${CREDVAULT_DOCS_DIR}/stamp
  DEPENDS credvault
  WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}
  COMMENT "Generating man pages and bash completion from the CLI"
  VERBATIM)
add_custom_target(credvault_docs ALL DEPENDS ${CREDVAULT_DOCS_DIR}/stamp)
install(DIRECTORY ${CREDVAULT_DOCS_DIR}/man/ DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 FILES_MATCHING PATTERN "*.1.gz")
install(FILES ${CREDVAULT_DOCS_DIR}/credvault.bash-completion
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME credvault)
