#include "core/session.hpp"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fstream>
#include <system_error>

#include <unistd.h>

#include <spdlog/fmt/fmt.h>

#include "core/error.hpp"

namespace aeqlab {

namespace fs = std::filesystem;

static std::string utc_now_iso() {
  const auto now = std::chrono::system_clock::now();
  const auto t = std::chrono::system_clock::to_time_t(now);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:03d}Z", buf, ms);
}

Session::Session(fs::path dir) : dir_(std::move(dir)) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec)
    throw ConfigError(
        fmt::format("session folder {}: cannot create it: {}", dir_.string(), ec.message()));
  if (fs::exists(dir_ / "events.jsonl"))
    throw ConfigError(fmt::format(
        "session folder {}: already holds a session; choose another --out", dir_.string()));
  events_ = std::fopen((dir_ / "events.jsonl").c_str(), "a");
  if (!events_)
    throw ConfigError(fmt::format("session folder {}: cannot write there: {}", dir_.string(),
                                  std::strerror(errno)));
}

Session::~Session() {
  if (events_) std::fclose(events_);
}

void Session::event(const std::string& kind, nlohmann::json fields) {
  nlohmann::json line = {{"event", kind}, {"time", utc_now_iso()}};
  for (auto& [k, v] : fields.items()) line[k] = std::move(v);
  const std::string text = line.dump() + "\n";
  if (std::fwrite(text.data(), 1, text.size(), events_) != text.size() || std::fflush(events_) != 0)
    throw std::runtime_error(fmt::format("{}: cannot append to the event log: {}",
                                         (dir_ / "events.jsonl").string(), std::strerror(errno)));
}

void Session::write_json(const std::string& name, const nlohmann::json& value) {
  const fs::path final_path = dir_ / name;
  const fs::path tmp = dir_ / (name + ".tmp");
  {
    std::ofstream out(tmp);
    out << value.dump(2) << "\n";
    out.flush();
    if (!out)
      throw std::runtime_error(
          fmt::format("{}: cannot write: {}", tmp.string(), std::strerror(errno)));
  }
  std::error_code ec;
  fs::rename(tmp, final_path, ec);
  if (ec)
    throw std::runtime_error(
        fmt::format("{}: cannot write: {}", final_path.string(), ec.message()));
}

fs::path Session::new_dir(const fs::path& root, const std::string& name) {
  const auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", &tm);
  fs::path dir = root / (name.empty() ? std::string(buf) : std::string(buf) + "-" + name);
  for (int i = 2; fs::exists(dir); ++i)
    dir = root / fmt::format("{}{}-{}", buf, name.empty() ? "" : "-" + name, i);
  return dir;
}

}  // namespace aeqlab
