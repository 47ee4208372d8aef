# Turns a text file into a C++ raw string literal body, for embedding defaults in the binary.
file(READ ${IN} content)
file(WRITE ${OUT} "R\"aeqlab_embed(${content})aeqlab_embed\"")
