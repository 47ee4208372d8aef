#include "core/cli/sessions_command.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <ostream>

#include <spdlog/fmt/fmt.h>

#include "core/cli/default_config.hpp"
#include "core/session_catalog.hpp"

namespace aeqlab::cli {

namespace fs = std::filesystem;

namespace {

// "2026-11-24T10:03:12.345Z" -> "2026-11-24 10:03"; anything else is shown as it is.
std::string to_the_minute(const std::string& iso) {
  if (iso.size() >= 16 && iso[4] == '-' && iso[7] == '-' && iso[10] == 'T' && iso[13] == ':')
    return iso.substr(0, 10) + " " + iso.substr(11, 5);
  return iso.empty() ? "-" : iso;
}

std::string percent(const std::optional<double>& v) {
  return v ? fmt::format("{:.2f}", 100 * *v) : "-";
}

std::string duration(const std::optional<double>& seconds) {
  if (!seconds || !std::isfinite(*seconds) || *seconds < 0) return "-";
  const double s = *seconds;
  if (s < 10) return fmt::format("{:.2f}s", s);
  if (s < 60) return fmt::format("{:.1f}s", s);
  const auto whole = static_cast<long long>(std::llround(s));
  if (whole < 3600) return fmt::format("{}m{:02}s", whole / 60, whole % 60);
  return fmt::format("{}h{:02}m", whole / 3600, whole % 3600 / 60);
}

std::vector<std::string> row_of(const SessionInfo& s) {
  const std::string epochs =
      s.epochs_done == 0 && s.epochs_total == 0
          ? "-"
          : fmt::format("{}/{}", s.epochs_done,
                        s.epochs_total ? std::to_string(s.epochs_total) : std::string("-"));
  return {s.dir.string(),
          to_string(s.status),
          to_the_minute(s.started),
          s.device.empty() ? "-" : s.device,
          epochs,
          percent(s.test_error),
          percent(s.train_error),
          s.samples_per_second ? fmt::format("{:.0f}", *s.samples_per_second) : "-",
          duration(s.wall_seconds),
          s.operator_name.empty() ? "-" : s.operator_name,
          s.sample.empty() ? "-" : s.sample};
}

void print_table(const std::vector<SessionInfo>& sessions, std::ostream& out) {
  const std::vector<std::string> header = {"folder", "status",   "started (UTC)", "device",
                                           "epochs", "test%",    "train%",        "samples/s",
                                           "wall",   "operator", "sample"};
  // Text columns are aligned left, figures right.
  const std::vector<bool> right = {false, false, false, false, true, true,
                                   true,  true,  true,  false, false};
  std::vector<std::vector<std::string>> rows = {header};
  for (const auto& s : sessions) rows.push_back(row_of(s));
  std::vector<std::size_t> width(header.size(), 0);
  for (const auto& r : rows)
    for (std::size_t c = 0; c < r.size(); ++c) width[c] = std::max(width[c], r[c].size());
  for (const auto& r : rows) {
    std::string line;
    for (std::size_t c = 0; c < r.size(); ++c) {
      if (c) line += "  ";
      const std::string pad(width[c] - r[c].size(), ' ');
      line += right[c] ? pad + r[c] : r[c] + (c + 1 < r.size() ? pad : "");
    }
    out << line << "\n";
  }
}

}  // namespace

int sessions_command(const SessionsOptions& options, std::ostream& out, std::ostream& err) {
  std::vector<std::string> roots = options.roots;
  if (roots.empty()) roots.push_back(default_config().at("session").at("root").get<std::string>());

  std::vector<SessionInfo> sessions;
  std::vector<std::string> empty_roots;
  for (const auto& root : roots) {
    // A session folder named directly is listed as it is; any other folder is a root.
    if (is_session_dir(root)) {
      sessions.push_back(read_session_info(root));
      continue;
    }
    auto found = list_sessions(root);  // throws ConfigError naming a missing root
    if (found.empty()) empty_roots.push_back(root);
    std::move(found.begin(), found.end(), std::back_inserter(sessions));
  }

  // With --json, standard output holds JSON lines and nothing else.
  std::ostream& note = options.json || !sessions.empty() ? err : out;
  for (const auto& root : empty_roots) note << "no sessions under " << root << "\n";

  if (options.json) {
    // A folder's name may be any bytes: not UTF-8 ones are replaced, never a throw.
    for (const auto& s : sessions)
      out << to_json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else if (!sessions.empty()) {
    print_table(sessions, out);
  }
  out.flush();
  for (const auto& s : sessions)
    for (const auto& w : s.warnings) err << "aeqlab: warning: " << w << "\n";
  return 0;
}

}  // namespace aeqlab::cli
