#pragma once
// Text from outside (a file's bytes, a peer's reply) made safe to print and to put in JSON: control
// bytes and bytes that are not UTF-8 become \xNN, so nothing read can drive the terminal or break
// a JSON writer (docs/sessions.md, "Reading a session back").

#include <string>
#include <string_view>

namespace aeqlab {

std::string printable(std::string_view bytes);

}  // namespace aeqlab
