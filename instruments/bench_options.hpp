#pragma once
// The bench file's sections beside the channel map that shape what the bench device does with
// programmable resistors (docs/pot-bench.md): the probes' check against the parameters,
// write-verify and emulated plasticity. Used by instruments/bench_config.cpp; ConfigError names the
// key.

#include <string>

#include <nlohmann/json.hpp>

#include "instruments/bench_config.hpp"

namespace aeqlab::instruments {

// The probes against the parameters they serve, once the channel map is read.
void check_probes(const nlohmann::json& bench, const BenchConfig& b, const std::string& source);
WriteVerify parse_write_verify(const nlohmann::json& j, const BenchConfig& b,
                               const std::string& source);
PlasticityEmulation parse_plasticity(const nlohmann::json& j, const BenchConfig& b,
                                     const std::string& source);

}  // namespace aeqlab::instruments
