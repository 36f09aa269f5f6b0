# Writes OUT from the template IN with the tree's git state, at every build (cmake -P, run by the target
# rr_version): RR_GIT_COMMIT (full hash, "unknown" outside a git tree), RR_GIT_DIRTY (1 when tracked files
# differ from that commit) and RR_VERSION_STRING (PROJECT_VERSION+`git describe --always --dirty --tags`).
# configure_file leaves OUT untouched when its text is unchanged, so only a new commit recompiles it.
execute_process(COMMAND git rev-parse HEAD WORKING_DIRECTORY ${SRC} OUTPUT_VARIABLE RR_GIT_COMMIT
                OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE failed)
if(failed OR NOT RR_GIT_COMMIT)
  set(RR_GIT_COMMIT "unknown")
  set(RR_GIT_DIRTY 0)
  set(describe "unknown")
else()
  execute_process(COMMAND git status --porcelain --untracked-files=no WORKING_DIRECTORY ${SRC}
                  OUTPUT_VARIABLE changes OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  if(changes)
    set(RR_GIT_DIRTY 1)
  else()
    set(RR_GIT_DIRTY 0)
  endif()
  execute_process(COMMAND git describe --always --dirty --tags WORKING_DIRECTORY ${SRC}
                  OUTPUT_VARIABLE describe OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
endif()
set(RR_VERSION_STRING "${PROJECT_VERSION}+${describe}")
configure_file(${IN} ${OUT} @ONLY)
