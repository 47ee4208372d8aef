#pragma once
// `--bench FILE` with `eval` and `train --resume`: the session's recorded bench, re-pointed at
// the addresses of a bench file (a server restarted on other ports, an instrument moved to
// another USB port). Only how each instrument is reached may differ; the channel map, the
// instruments' names and profiles and the settle rule must be the recorded ones, and any
// difference is refused naming its key. docs/bench.md, "Re-pointing a recorded bench".

#include <filesystem>

#include <nlohmann/json.hpp>

namespace aeqlab::cli {

// `recorded`: the session's device section ({"type": "bench", "bench": {...}, ...}). Returns it
// with each instrument's address and connection keys taken from `file`.
nlohmann::json repoint_bench(const nlohmann::json& recorded, const std::filesystem::path& file);

}  // namespace aeqlab::cli
