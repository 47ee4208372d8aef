#include "core/session.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <system_error>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <spdlog/fmt/fmt.h>

#include "core/error.hpp"

namespace aeqlab {

namespace fs = std::filesystem;

namespace {

// A name as the error shows it: control bytes escaped, long names cut.
std::string printable_name(const std::string& name) {
  std::string out;
  for (const char c : name.substr(0, 120)) {
    const auto u = static_cast<unsigned char>(c);
    out += u < 0x20 || u == 0x7f ? fmt::format("\\x{:02x}", u) : std::string(1, c);
  }
  return name.size() > 120 ? out + "..." : out;
}

}  // namespace

std::string Session::utc_now() {
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

static void write_all(int fd, std::string_view text, const fs::path& file) {
  while (!text.empty()) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(
          fmt::format("{}: cannot write: {}", file.string(), std::strerror(errno)));
    }
    text.remove_prefix(std::size_t(n));
  }
}

void write_file_durably(const fs::path& file, std::string_view bytes) {
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    throw std::runtime_error(
        fmt::format("{}: cannot create: {}", file.string(), std::strerror(errno)));
  try {
    write_all(fd, bytes, file);
    if (::fsync(fd) != 0)
      throw std::runtime_error(
          fmt::format("{}: cannot sync to disk: {}", file.string(), std::strerror(errno)));
  } catch (...) {
    ::close(fd);
    throw;
  }
  if (::close(fd) != 0)
    throw std::runtime_error(
        fmt::format("{}: cannot write: {}", file.string(), std::strerror(errno)));
}

// A constructor that throws runs no destructor: what it opened is closed here, so a refused
// session leaves no descriptor behind and, above all, no lock on the folder.
static void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

void sync_folder(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;  // best effort: the data files themselves are already synced
  (void)::fsync(fd);
  ::close(fd);
}

Session::Session(fs::path dir) : dir_(std::move(dir)) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec)
    throw ConfigError(
        fmt::format("session folder {}: cannot create it: {}", dir_.string(), ec.message()));
  lock();
  // A folder whose log is empty and that has no config.json is a session that never started
  // (killed while it was being made): it is taken over, not refused.
  const bool never_started = fs::exists(dir_ / "events.jsonl") &&
                             fs::file_size(dir_ / "events.jsonl", ec) == 0 && !ec &&
                             !fs::exists(dir_ / "config.json");
  if (fs::exists(dir_ / "events.jsonl") && !never_started) {
    close_fd(lock_fd_);
    throw ConfigError(fmt::format(
        "session folder {}: already holds a session; choose another --out, or continue it with "
        "--resume",
        dir_.string()));
  }
  events_fd_ =
      ::open((dir_ / "events.jsonl").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (events_fd_ < 0) {
    const int err = errno;
    close_fd(lock_fd_);
    throw ConfigError(fmt::format("session folder {}: cannot write there: {}", dir_.string(),
                                  std::strerror(err)));
  }
}

Session::Session(fs::path dir, Reopen) : dir_(std::move(dir)) {
  const fs::path log = dir_ / "events.jsonl";
  if (!fs::is_directory(dir_) || !fs::exists(log))
    throw ConfigError(fmt::format("{}: not a session folder (no events.jsonl)", dir_.string()));
  lock();
  // Until the log is open and checked, a refusal must also let go of the lock.
  struct Release {
    Session* s;
    ~Release() {
      if (!s) return;
      close_fd(s->events_fd_);
      close_fd(s->lock_fd_);
    }
  } release{this};
  events_fd_ = ::open(log.c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
  if (events_fd_ < 0)
    throw ConfigError(
        fmt::format("{}: cannot open for writing: {}", log.string(), std::strerror(errno)));
  // Count the complete lines; cut what follows the last newline (a line a crash cut short).
  std::size_t size = 0, complete = 0;
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::pread(events_fd_, buf, sizeof buf, off_t(size));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      throw ConfigError(fmt::format("{}: cannot read: {}", log.string(), std::strerror(errno)));
    if (n == 0) break;
    for (ssize_t i = 0; i < n; ++i)
      if (buf[i] == '\n') {
        ++lines_;
        complete = size + std::size_t(i) + 1;
      }
    size += std::size_t(n);
  }
  if (complete < size) {
    if (::ftruncate(events_fd_, off_t(complete)) != 0)
      throw ConfigError(fmt::format("{}: cannot drop the partial last line: {}", log.string(),
                                    std::strerror(errno)));
    dropped_bytes_ = size - complete;
  }
  bytes_ = complete;
  release.s = nullptr;
}

void Session::lock() {
  // flock is released by the kernel when the process dies, however it dies: a lock left by a
  // crashed run never blocks its resumption.
  lock_fd_ = ::open((dir_ / ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0)
    throw ConfigError(fmt::format("session folder {}: cannot write there: {}", dir_.string(),
                                  std::strerror(errno)));
  // `aeqlab sessions` probes the lock for an instant with a shared lock: a few tries over 0.1 s
  // tell that apart from a run that really holds it.
  bool locked = false;
  for (int attempt = 0; attempt < 20 && !locked; ++attempt) {
    locked = ::flock(lock_fd_, LOCK_EX | LOCK_NB) == 0;
    if (!locked) ::usleep(5000);
  }
  if (!locked) {
    close_fd(lock_fd_);
    throw ConfigError(
        fmt::format("session folder {}: in use by another aeqlab process (it holds {})",
                    dir_.string(), (dir_ / ".lock").string()));
  }
}

Session::~Session() {
  if (events_fd_ >= 0) ::close(events_fd_);
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the lock
}

std::size_t Session::event_lines() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return lines_;
}

void Session::append(std::string_view text) {
  std::lock_guard<std::mutex> lock(mutex_);
  try {
    write_all(events_fd_, text, dir_ / "events.jsonl");
  } catch (const std::runtime_error& e) {
    // A full disk may have taken part of the line: cut it, so that whatever is appended once
    // there is room again starts on a line of its own.
    (void)::ftruncate(events_fd_, off_t(bytes_));
    throw std::runtime_error(fmt::format("cannot append to the event log: {}", e.what()));
  }
  bytes_ += text.size();
  ++lines_;
}

void Session::event(const std::string& kind, nlohmann::json fields) {
  // "event" and "time" first, so a reader can pick lines by their start.
  nlohmann::ordered_json line = {{"event", kind}, {"time", utc_now()}};
  for (auto& [k, v] : fields.items()) line[k] = nlohmann::ordered_json(v);
  append(line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

void Session::event_line(std::string_view json_object) {
  std::string text;
  text.reserve(json_object.size() + 1);
  text.append(json_object);
  text.push_back('\n');
  append(text);
}

void Session::sync() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (::fsync(events_fd_) != 0)
    throw std::runtime_error(fmt::format("{}: cannot sync to disk: {}",
                                         (dir_ / "events.jsonl").string(), std::strerror(errno)));
}

void Session::write_json(const std::string& name, const nlohmann::json& value) {
  const fs::path final_path = dir_ / name;
  const fs::path tmp = dir_ / (name + ".tmp");
  std::lock_guard<std::mutex> lock(mutex_);
  write_file_durably(tmp,
                     value.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  std::error_code ec;
  fs::rename(tmp, final_path, ec);
  if (ec)
    throw std::runtime_error(
        fmt::format("{}: cannot write: {}", final_path.string(), ec.message()));
  sync_folder(dir_);
}

void Session::check_name(const std::string& name) {
  // One folder name inside session.root, whatever the config says: never "..", never a path,
  // nothing a shell or a terminal would read as something else.
  constexpr std::size_t kMaxName = 100;
  const bool safe_chars = std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
  });
  if (!safe_chars || name.size() > kMaxName || name.starts_with('.'))
    throw ConfigError(fmt::format(
        "session.name: \"{}\" is not one safe folder name (letters, digits, '-', '_' and '.', not "
        "starting with '.', at most {} characters)",
        printable_name(name), kMaxName));
}

fs::path Session::new_dir(const fs::path& root, const std::string& name) {
  check_name(name);
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
