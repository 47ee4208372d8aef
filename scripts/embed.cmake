# Turns a text file into a C++ raw string literal body, for embedding defaults in the binary.
file(READ ${IN} content)
string(FIND "${content}" ")aeqlab_embed" _delimiter)
if(NOT _delimiter EQUAL -1)
  message(FATAL_ERROR "${IN} contains the raw-string delimiter )aeqlab_embed")
endif()
file(WRITE ${OUT} "R\"aeqlab_embed(${content})aeqlab_embed\"")
