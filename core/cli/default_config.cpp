#include "core/cli/default_config.hpp"

namespace aeqlab::cli {

const nlohmann::json& default_config() {
  static const nlohmann::json config = nlohmann::json::parse(
#include "default_config.inc"
  );
  return config;
}

}  // namespace aeqlab::cli
