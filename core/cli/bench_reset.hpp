#pragma once
// The defined start of a dry run: `*RST` to the instruments of a virtual bench before a new
// session opens it, so every session starts from the server's initial state rather than from
// where the previous session left it. Real instruments are not sent anything.
// docs/virtual-bench.md, "*RST".

#include <nlohmann/json.hpp>

namespace aeqlab::cli {

// `device`: a bench device section ({"type": "bench", "bench": {...}}). Returns the number of
// instruments reset (0 when none is virtual). Throws what the drivers throw, naming the
// instrument.
std::size_t reset_virtual_bench(const nlohmann::json& device);

}  // namespace aeqlab::cli
