#include "core/session_catalog.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <string_view>
#include <tuple>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <spdlog/fmt/fmt.h>

#include "core/error.hpp"
#include "core/printable.hpp"
#include "core/session_files.hpp"

namespace aeqlab {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// What the event log says, after superseded epochs are dropped.
struct EventLog {
  struct Epoch {
    std::size_t line = 0;
    std::optional<double> test_error, samples, seconds, samples_per_second;
  };
  std::string started, first_time, device;
  std::size_t epochs_total = 0;
  std::vector<Epoch> epochs;
  std::size_t last_line = 0;  // the last line holding an event (parsed or skipped cheaply)
  std::size_t run_stop_line = 0, resume_line = 0;  // of the last ones; 0: none
  std::optional<RunStatus> run_stop_status;
  std::string run_stop_reason;
};

std::optional<double> number(const json& j, const char* key) {
  const auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

std::optional<std::size_t> count(const json& j, const char* key) {
  const auto it = j.find(key);
  if (it == j.end() || !it->is_number_unsigned()) return std::nullopt;
  return it->get<std::size_t>();
}

std::string text(const json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The value of the first `"event":"..."` in a compact JSON line, without parsing it. Keys may come
// in any order (nlohmann::json writes them sorted), so this looks for the key, not a prefix. An
// unescaped `"event":"` cannot occur inside a JSON string, only as a key.
std::string_view event_kind_hint(std::string_view line) {
  constexpr std::string_view key = "\"event\":\"";
  const auto at = line.find(key);
  if (at == std::string_view::npos) return {};
  const auto start = at + key.size();
  const auto end = line.find('"', start);
  if (end == std::string_view::npos) return {};
  return line.substr(start, end - start);
}

void read_events(const fs::path& file, EventLog& log, std::vector<std::string>& warnings) {
  // Read a line at a time, none held beyond kMaxEventLineBytes (docs/sessions.md, "Reading a
  // session back").
  SessionLines in(file, kMaxEventLineBytes);
  if (!in.is_open()) {
    warnings.push_back(fmt::format("{}: cannot open: {}", file.string(), std::strerror(errno)));
    return;
  }
  const std::string name = file.string();
  std::string line;
  bool too_long = false, unterminated = false;
  while (in.next(line, too_long, unterminated)) {
    const std::size_t n = in.number();
    if (too_long) {
      warnings.push_back(
          fmt::format("{}:{}: longer than {} bytes, skipped", name, n, kMaxEventLineBytes));
      continue;
    }
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
      line.pop_back();
    if (line.empty()) continue;
    // The many per-step lines are not needed: skip them unparsed (logs run to tens of MB), but
    // still notice one cut short.
    const std::string_view hint = event_kind_hint(line);
    if (hint == "step" || hint == "phase") {
      if (line.back() != '}')
        warnings.push_back(fmt::format("{}:{}: truncated line, skipped", name, n));
      else
        log.last_line = n;
      continue;
    }
    json j;
    try {
      j = parse_session_line(line, fmt::format("{}:{}", name, n));
    } catch (const DataError& e) {
      warnings.push_back(fmt::format("{}; skipped", e.what()));
      continue;
    }
    const std::string kind = j.is_object() ? text(j, "event") : std::string();
    if (kind.empty()) {
      warnings.push_back(fmt::format("{}:{}: not an event (no \"event\" name), skipped", name, n));
      continue;
    }
    log.last_line = n;
    const std::string time = text(j, "time");
    if (log.first_time.empty()) log.first_time = time;
    if (kind == "run_start") {
      if (log.started.empty()) log.started = time;
      if (const std::string d = text(j, "device"); !d.empty()) log.device = d;
      if (const auto e = count(j, "epochs")) log.epochs_total = *e;
    } else if (kind == "epoch") {
      log.epochs.push_back({n, number(j, "test_error"), number(j, "samples"), number(j, "seconds"),
                            number(j, "samples_per_second")});
    } else if (kind == "resume") {
      log.resume_line = n;
      const auto after = count(j, "superseded_after_line");
      if (!after || *after >= n) {
        warnings.push_back(fmt::format(
            "{}:{}: resume without a valid superseded_after_line; no epoch dropped", name, n));
        continue;
      }
      // Lines after..n were redone after a crash: their epochs happen again below.
      std::erase_if(log.epochs, [&](const EventLog::Epoch& e) { return e.line > *after; });
    } else if (kind == "run_stop") {
      log.run_stop_line = n;
      log.run_stop_status = run_status_from(text(j, "status"));
      log.run_stop_reason = text(j, "reason");
    }
  }
  if (in.bad())
    warnings.push_back(fmt::format("{}: read error: {}", file.string(), std::strerror(errno)));
}

// summary.json as an object with a string "status", or nothing (a damaged one is a warning).
std::optional<json> read_summary(const fs::path& file, std::vector<std::string>& warnings) {
  std::error_code ec;
  if (!fs::exists(file, ec)) return std::nullopt;
  json j;
  try {
    j = read_session_json(file);  // size and depth checked (docs/sessions.md)
  } catch (const DataError& e) {
    warnings.push_back(fmt::format("{}; ignored", e.what()));
    return std::nullopt;
  }
  if (!j.is_object() || text(j, "status").empty()) {
    warnings.push_back(fmt::format("{}: no \"status\", ignored", file.string()));
    return std::nullopt;
  }
  if (!run_status_from(text(j, "status"))) {
    warnings.push_back(
        fmt::format("{}: unknown status \"{}\", ignored", file.string(), text(j, "status")));
    return std::nullopt;
  }
  return j;
}

// The highest NNNNNN among the folders checkpoints/NNNNNN/.
std::optional<std::size_t> last_checkpoint(const fs::path& dir) {
  std::optional<std::size_t> best;
  std::error_code ec;
  for (fs::directory_iterator it(dir / "checkpoints", ec), end; !ec && it != end;
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.empty() || name.front() == '.') continue;
    if (!std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; }))
      continue;
    std::error_code dir_ec;
    if (!it->is_directory(dir_ec)) continue;
    std::size_t value = 0;
    const auto [end_ptr, err] = std::from_chars(name.data(), name.data() + name.size(), value);
    if (err != std::errc() || end_ptr != name.data() + name.size()) continue;
    if (!best || value > *best) best = value;
  }
  return best;
}

}  // namespace

bool is_session_dir(const fs::path& dir) {
  std::error_code ec;
  return fs::is_regular_file(dir / "events.jsonl", ec) ||
         fs::is_regular_file(dir / "summary.json", ec);
}

bool is_lock_held(const fs::path& lock_file) {
  const int fd = ::open(lock_file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  int rc;
  do rc = ::flock(fd, LOCK_SH | LOCK_NB);
  while (rc != 0 && errno == EINTR);
  const bool held = rc != 0 && errno == EWOULDBLOCK;
  ::close(fd);  // releases the shared lock if it was taken
  return held;
}

SessionInfo read_session_info(const fs::path& dir) {
  SessionInfo info;
  info.dir = dir;
  std::error_code ec;
  EventLog log;
  const fs::path events = dir / "events.jsonl";
  const bool has_events = fs::exists(events, ec);
  if (has_events) read_events(events, log, info.warnings);

  // The lab's record, from the config the session was started with (it is in summary.json too,
  // but a running or killed session has none yet).
  if (fs::exists(dir / "config.json", ec)) {
    json config;
    try {
      config = read_session_json(dir / "config.json");
    } catch (const DataError& e) {
      info.warnings.push_back(fmt::format("{}; no operator, sample or notes", e.what()));
    }
    if (config.is_object() && config.contains("session") && config["session"].is_object()) {
      info.operator_name = text(config["session"], "operator");
      info.sample = text(config["session"], "sample");
      info.notes = text(config["session"], "notes");
    }
  }

  const bool running = is_lock_held(dir / ".lock");
  // While a resumed run is going, summary.json may still be the earlier segment's: the lock wins.
  std::optional<json> summary =
      running ? std::nullopt : read_summary(dir / "summary.json", info.warnings);
  // A resume after the last run_stop started a segment that never wrote its summary: the one
  // there is the earlier segment's.
  if (summary && log.resume_line > log.run_stop_line) {
    info.warnings.push_back(
        fmt::format("{}: written before the resume at {}:{}, so not this run's outcome; ignored",
                    (dir / "summary.json").string(), events.string(), log.resume_line));
    summary.reset();
  }
  const bool stopped =
      log.run_stop_line != 0 && log.run_stop_line == log.last_line && log.run_stop_status;

  if (running) {
    info.status = RunStatus::running;
  } else if (summary) {
    info.status = *run_status_from(text(*summary, "status"));
  } else if (stopped) {
    // The run ended by itself but its summary is missing or damaged: the log has the outcome.
    info.status = *log.run_stop_status;
    info.reason = log.run_stop_reason;
    if (!fs::exists(dir / "summary.json", ec))
      info.warnings.push_back(fmt::format("{}: missing although the run stopped ({})",
                                          (dir / "summary.json").string(),
                                          to_string(*log.run_stop_status)));
  } else {
    info.status = RunStatus::interrupted;
  }
  if (!has_events && !summary && !running)
    info.warnings.push_back(
        fmt::format("{}: neither events.jsonl nor a readable summary.json", dir.string()));

  info.started = log.started.empty() ? log.first_time : log.started;
  info.device = log.device;
  info.epochs_total = log.epochs_total;
  info.epochs_done = log.epochs.size();
  if (!log.epochs.empty()) info.test_error = log.epochs.back().test_error;
  // The speed over the epochs logged, as summary.json counts it: samples over training seconds.
  double samples = 0, seconds = 0;
  for (const auto& e : log.epochs) {
    if (!e.samples || !e.seconds) {
      samples = seconds = 0;
      break;
    }
    samples += *e.samples;
    seconds += *e.seconds;
  }
  if (seconds > 0)
    info.samples_per_second = samples / seconds;
  else if (!log.epochs.empty())
    info.samples_per_second = log.epochs.back().samples_per_second;

  if (summary) {
    const json& s = *summary;
    if (const std::string d = text(s, "device"); !d.empty()) info.device = d;
    if (const auto e = count(s, "epochs")) info.epochs_done = *e;
    if (const auto v = number(s, "test_error")) info.test_error = v;
    info.train_error = number(s, "train_error");
    if (const auto v = number(s, "samples_per_second")) info.samples_per_second = v;
    info.wall_seconds = number(s, "wall_seconds");
    info.reason = text(s, "reason");
  }
  info.checkpoint = last_checkpoint(dir);
  // A warning may quote the file's bytes: printed and written as JSON, they must be text.
  for (auto& w : info.warnings) w = printable(w);
  return info;
}

std::vector<SessionInfo> list_sessions(const fs::path& root) {
  std::error_code ec;
  const auto st = fs::status(root, ec);
  if (!fs::exists(st)) throw ConfigError(fmt::format("{}: no such folder", root.string()));
  if (!fs::is_directory(st)) throw ConfigError(fmt::format("{}: not a folder", root.string()));
  std::vector<SessionInfo> sessions;
  fs::directory_iterator it(root, ec);
  if (ec) throw ConfigError(fmt::format("{}: cannot read: {}", root.string(), ec.message()));
  for (const fs::directory_iterator end; it != end; it.increment(ec)) {
    std::error_code entry_ec;
    if (!it->is_directory(entry_ec) || !is_session_dir(it->path())) continue;
    try {
      sessions.push_back(read_session_info(it->path()));
    } catch (const std::exception& e) {
      SessionInfo info;
      info.dir = it->path();
      info.status = RunStatus::unreadable;
      info.warnings.push_back(fmt::format("{}: {}", it->path().string(), e.what()));
      sessions.push_back(std::move(info));
    }
  }
  if (ec)
    throw ConfigError(fmt::format("{}: cannot read all of it: {}", root.string(), ec.message()));
  std::sort(sessions.begin(), sessions.end(), [](const SessionInfo& a, const SessionInfo& b) {
    return std::forward_as_tuple(a.started.empty(), a.started, a.dir.filename().native()) <
           std::forward_as_tuple(b.started.empty(), b.started, b.dir.filename().native());
  });
  return sessions;
}

json to_json(const SessionInfo& info) {
  const auto opt = [](const auto& v) { return v ? json(*v) : json(nullptr); };
  const auto str = [](const std::string& s) { return s.empty() ? json(nullptr) : json(s); };
  return {{"dir", info.dir.string()},
          {"status", to_string(info.status)},
          {"started", str(info.started)},
          {"device", str(info.device)},
          {"epochs_done", info.epochs_done},
          {"epochs_total", info.epochs_total ? json(info.epochs_total) : json(nullptr)},
          {"test_error", opt(info.test_error)},
          {"train_error", opt(info.train_error)},
          {"samples_per_second", opt(info.samples_per_second)},
          {"wall_seconds", opt(info.wall_seconds)},
          {"reason", str(info.reason)},
          {"operator", str(info.operator_name)},
          {"sample", str(info.sample)},
          {"notes", str(info.notes)},
          {"checkpoint", opt(info.checkpoint)},
          {"warnings", info.warnings}};
}

}  // namespace aeqlab
