#include "core/session_files.hpp"

#include <cstring>
#include <limits>

#include <spdlog/fmt/fmt.h>

#include "core/config.hpp"
#include "core/error.hpp"

namespace aeqlab {

namespace fs = std::filesystem;

namespace {

std::uint64_t size_of(const fs::path& file) {
  std::error_code ec;
  const auto status = fs::status(file, ec);
  if (ec || !fs::exists(status))
    throw DataError(fmt::format("{}: cannot open: no such file", file.string()));
  if (!fs::is_regular_file(status))
    throw DataError(fmt::format("{}: not a regular file", file.string()));
  const std::uint64_t size = fs::file_size(file, ec);
  if (ec) throw DataError(fmt::format("{}: cannot read: {}", file.string(), ec.message()));
  return size;
}

}  // namespace

std::string read_session_bytes(const fs::path& file, std::uint64_t max_bytes) {
  const std::uint64_t size = size_of(file);
  if (size > max_bytes)
    throw DataError(
        fmt::format("{}: {} bytes, more than the {} a session file of this kind may "
                    "hold; not read",
                    file.string(), size, max_bytes));
  std::ifstream in(file, std::ios::binary);
  if (!in) throw DataError(fmt::format("{}: cannot open: {}", file.string(), std::strerror(errno)));
  // Read at most what was measured (+1 to notice a file growing meanwhile), never more.
  std::string bytes(static_cast<std::size_t>(size) + 1, '\0');
  in.read(bytes.data(), std::streamsize(bytes.size()));
  if (in.bad()) throw DataError(fmt::format("{}: cannot read", file.string()));
  bytes.resize(static_cast<std::size_t>(in.gcount()));
  if (bytes.size() > size)
    throw DataError(fmt::format("{}: grew while it was read; not read", file.string()));
  return bytes;
}

nlohmann::json parse_session_line(std::string_view text, const std::string& source) {
  if (json_too_deep_at(text))
    throw DataError(fmt::format("{}: nested deeper than {} levels", source, kMaxJsonDepth));
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    // nlohmann's messages start with "[json.exception.parse_error.101] "; the rest says it all.
    std::string_view m = e.what();
    if (const auto close = m.find("] "); !m.empty() && m.front() == '[' && close != m.npos)
      m.remove_prefix(close + 2);
    throw DataError(fmt::format("{}: not JSON: {}", source, m));
  }
}

nlohmann::json read_session_json(const fs::path& file, std::uint64_t max_bytes) {
  const std::string text = read_session_bytes(file, max_bytes);
  try {
    return parse_json_text(text, file.string());  // depth checked first; names file:line
  } catch (const ConfigError& e) {
    throw DataError(e.what());
  }
}

template <typename V>
std::vector<V> read_session_values(const fs::path& file, std::uint64_t count) {
  if (count > std::numeric_limits<std::uint64_t>::max() / sizeof(V))
    throw DataError(fmt::format("{}: {} values cannot be held", file.string(), count));
  const std::uint64_t expected = count * sizeof(V);
  const std::uint64_t size = size_of(file);
  if (size != expected)
    throw DataError(
        fmt::format("{}: {} bytes, expected {} ({} values)", file.string(), size, expected, count));
  const std::string bytes = read_session_bytes(file, expected);
  if (bytes.size() != expected)
    throw DataError(
        fmt::format("{}: {} bytes read, expected {}", file.string(), bytes.size(), expected));
  std::vector<V> v(static_cast<std::size_t>(count));
  if (!bytes.empty()) std::memcpy(v.data(), bytes.data(), bytes.size());
  return v;
}

template std::vector<double> read_session_values<double>(const fs::path&, std::uint64_t);
template std::vector<std::uint64_t> read_session_values<std::uint64_t>(const fs::path&,
                                                                       std::uint64_t);

std::uint64_t session_count(const nlohmann::json& j, const char* key, std::uint64_t max,
                            const fs::path& file) {
  if (!j.is_object()) throw DataError(fmt::format("{}: not a JSON object", file.string()));
  const auto it = j.find(key);
  if (it == j.end()) throw DataError(fmt::format("{}: {}: missing", file.string(), key));
  if (!it->is_number_unsigned())
    throw DataError(fmt::format("{}: {}: expected a count (an integer from 0), got {}",
                                file.string(), key, it->dump().substr(0, 80)));
  const auto v = it->get<std::uint64_t>();
  if (v > max)
    throw DataError(fmt::format("{}: {}: {} is more than the {} this session can hold",
                                file.string(), key, v, max));
  return v;
}

SessionLines::SessionLines(const fs::path& file, std::size_t max_line)
    : in_(file, std::ios::binary), max_line_(max_line) {}

bool SessionLines::next(std::string& line, bool& too_long, bool& unterminated) {
  line.clear();
  too_long = unterminated = false;
  std::streambuf* buf = in_.rdbuf();
  if (!in_ || buf == nullptr) return false;
  bool any = false;
  for (;;) {
    const int c = buf->sbumpc();
    if (c == std::char_traits<char>::eof()) {
      in_.setstate(std::ios::eofbit);
      if (!any) return false;
      unterminated = true;
      break;
    }
    any = true;
    if (c == '\n') break;
    if (too_long) continue;  // counted past, never buffered
    if (line.size() >= max_line_) {
      too_long = true;
      line.clear();
      line.shrink_to_fit();
      continue;
    }
    line.push_back(static_cast<char>(c));
  }
  ++number_;
  return true;
}

}  // namespace aeqlab
