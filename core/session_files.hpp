#pragma once
// Reading a session folder's files back, bounded (docs/sessions.md, "Reading a session back").
// A session folder can come from anywhere (a colleague, a crashed disk): every file is checked
// for size before it is read, every JSON for depth before it is parsed, every line is read up to
// a limit, and every refusal is a DataError naming the file (and line or key).

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace aeqlab {

// The largest JSON file of a session read back (summary.json, config.json, device.json, a
// checkpoint's checkpoint.json): these are a few kB; a bench inlined in config.json a few MB.
inline constexpr std::uint64_t kMaxSessionJsonBytes = 64ull << 20;
// The longest line of events.jsonl read back: an event is one line of a few hundred bytes.
inline constexpr std::size_t kMaxEventLineBytes = 4u << 20;

// The whole of `file` if it holds at most `max_bytes`; DataError naming it otherwise.
std::string read_session_bytes(const std::filesystem::path& file, std::uint64_t max_bytes);

// A session JSON file: size checked, depth checked (kMaxJsonDepth), parsed. DataError naming the
// file (and the line of a malformed or too deep part).
nlohmann::json read_session_json(const std::filesystem::path& file,
                                 std::uint64_t max_bytes = kMaxSessionJsonBytes);
// One line of events.jsonl, depth checked and parsed: DataError "SOURCE: not JSON: why" or
// "SOURCE: nested deeper than 64 levels" (`source` is "file:line").
nlohmann::json parse_session_line(std::string_view text, const std::string& source);

// `count` values of type V from a binary file that must hold exactly that many: the size is
// checked before anything is allocated (a damaged count cannot ask for more than the file holds).
template <typename V>
std::vector<V> read_session_values(const std::filesystem::path& file, std::uint64_t count);

// A non-negative integer at `key` of the object `j`, at most `max`: DataError "FILE: KEY: ..."
// otherwise.
std::uint64_t session_count(const nlohmann::json& j, const char* key, std::uint64_t max,
                            const std::filesystem::path& file);

// Lines of a text file (events.jsonl, metrics.csv) read one at a time, none held beyond
// `max_line` bytes: a longer one is skipped to its end and reported, not buffered.
class SessionLines {
 public:
  SessionLines(const std::filesystem::path& file, std::size_t max_line);
  bool is_open() const { return static_cast<bool>(in_); }
  // The next line (without its '\n'): false at the end. `too_long`: the line was longer than
  // max_line and `line` is empty; `unterminated`: the file ended without its '\n'.
  bool next(std::string& line, bool& too_long, bool& unterminated);
  std::size_t number() const { return number_; }  // 1-based number of the line last returned
  bool bad() const { return in_.bad(); }

 private:
  std::ifstream in_;
  std::size_t max_line_;
  std::size_t number_ = 0;
};

}  // namespace aeqlab
