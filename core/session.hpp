#pragma once
// A lab session on disk (DESIGN §7): the resolved config, an append-only JSON-lines event log
// whose every line is flushed as it is written, and summary.json written atomically at the end.

#include <cstdio>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

namespace aeqlab {

class Session {
 public:
  // Creates the folder (and parents). Refuses a folder that already holds a session, and checks
  // up front that it can write there, so a run never learns at its end that nothing was kept.
  explicit Session(std::filesystem::path dir);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  const std::filesystem::path& dir() const { return dir_; }

  // Appends one event line ({"event": kind, "time": ..., ...fields}) and flushes it to the OS.
  void event(const std::string& kind, nlohmann::json fields = nlohmann::json::object());
  // Writes `name` whole or not at all (temporary file, then rename).
  void write_json(const std::string& name, const nlohmann::json& value);

  // A new folder name under `root`: <root>/<UTC time>[-name].
  static std::filesystem::path new_dir(const std::filesystem::path& root, const std::string& name);

 private:
  std::filesystem::path dir_;
  std::FILE* events_ = nullptr;
};

}  // namespace aeqlab
