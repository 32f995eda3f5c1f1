# cmake -DPROGRAM=... -DARG=... -DOUT=... -P output-to-file.cmake: runs PROGRAM ARG, output into OUT.
execute_process(COMMAND "${PROGRAM}" "${ARG}" OUTPUT_FILE "${OUT}" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${PROGRAM} ${ARG} failed: ${rc}")
endif()
