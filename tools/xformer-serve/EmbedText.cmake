# Writes the file IN as a C++ string constant kChatModuleSource into OUT.
file(READ ${IN} text)
string(FIND "${text}" ")xfpy\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${IN} contains the raw-string delimiter )xfpy\"")
endif()
file(WRITE ${OUT} "static const char kChatModuleSource[] = R\"xfpy(${text})xfpy\";\n")
