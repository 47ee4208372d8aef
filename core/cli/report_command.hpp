#pragma once
// `aeqlab report`: figures (PNG) and one HTML page from session folders, drawn by matplotlib.

#include <filesystem>
#include <optional>
#include <vector>

namespace aeqlab::cli {

// Writes the report of `sessions` into `out` (default: SESSION/report for one session,
// ./aeqlab-report for several) by running the embedded core/cli/report.py with python3 (PATH, then
// /usr/bin/python3; $AEQLAB_PYTHON overrides). Throws ConfigError naming a folder that is not a
// session, std::runtime_error when no python3 with matplotlib is found. Returns the exit status.
int report_command(const std::vector<std::filesystem::path>& sessions,
                   const std::optional<std::filesystem::path>& out);

}  // namespace aeqlab::cli
