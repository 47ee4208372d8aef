#pragma once
// A lab session on disk (docs/sessions.md): the resolved config, an append-only JSON-lines event
// log whose every line reaches the operating system as it is written (a crash loses at most the
// line being written), atomic JSON files, and a lock so two programs never write one session.
//
// Threads: the run writes it, and the emergency stop's watcher may write its last records while
// the run is stuck (docs/architecture.md, "Threads"): every write is serialised by one mutex.

#include <cstddef>
#include <filesystem>
#include <mutex>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace aeqlab {

class Session {
 public:
  struct Reopen {};

  // Creates the folder (and parents). Refuses a folder that already holds a session, and checks
  // up front that it can write there, so a run never learns at its end that nothing was kept.
  explicit Session(std::filesystem::path dir);
  // Opens an existing session to continue it. A last line cut short by a crash is dropped (it
  // was never a complete record); everything before it is kept as it is.
  Session(std::filesystem::path dir, Reopen);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  const std::filesystem::path& dir() const { return dir_; }

  // Appends one event line ({"event": kind, "time": ..., ...fields}).
  void event(const std::string& kind, nlohmann::json fields = nlohmann::json::object());
  // Appends a line already formatted as a JSON object without its newline (the per-step records,
  // formatted without building a JSON tree).
  void event_line(std::string_view json_object);
  // Lines in the event log so far.
  std::size_t event_lines() const;
  // Bytes of a partial last line dropped when the session was reopened.
  std::size_t dropped_bytes() const { return dropped_bytes_; }
  // Pushes the event log to the disk itself (fsync): at checkpoints and at the end of a run.
  void sync();

  // Writes `name` whole or not at all (temporary file, fsync, then rename).
  void write_json(const std::string& name, const nlohmann::json& value);

  // Throws ConfigError naming session.name unless `name` is empty or one safe folder name.
  static void check_name(const std::string& name);
  // A new folder name under `root`: <root>/<UTC time>[-name]; the name is checked first.
  static std::filesystem::path new_dir(const std::filesystem::path& root, const std::string& name);
  // The time as ISO 8601 UTC with milliseconds, as event lines carry it.
  static std::string utc_now();

 private:
  void lock();
  void append(std::string_view text);

  std::filesystem::path dir_;
  mutable std::mutex mutex_;  // one writer at a time: the run, or the emergency stop's watcher
  int events_fd_ = -1;
  int lock_fd_ = -1;
  std::size_t lines_ = 0;
  std::size_t bytes_ = 0;  // of the event log, all complete lines
  std::size_t dropped_bytes_ = 0;
};

// Writes `bytes` to `file` and fsyncs it: whole, or an error that names the file.
void write_file_durably(const std::filesystem::path& file, std::string_view bytes);
// fsync of a folder, so a rename or a new file in it survives a power cut.
void sync_folder(const std::filesystem::path& dir);

}  // namespace aeqlab
