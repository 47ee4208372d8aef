#pragma once
#include <nlohmann/json.hpp>

namespace aeqlab::cli {
// The configuration `aeqlab train` uses when given no file (compiled in from default_config.json).
const nlohmann::json& default_config();
}  // namespace aeqlab::cli
