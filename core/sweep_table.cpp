#include "core/sweep_table.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <spdlog/fmt/fmt.h>

#include "core/error.hpp"

namespace aeqlab {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled.
std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::string csv_value(const json& v) {
  return csv_field(v.is_string() ? v.get<std::string>() : v.dump());
}

std::string number(const std::optional<double>& v) {
  return v ? fmt::format("{:.6g}", *v) : std::string();
}

}  // namespace

PointState read_point_state(const fs::path& sweep_dir, const SweepPoint& point) {
  PointState s;
  const fs::path dir = sweep_dir / point.id;
  std::error_code ec;
  if (!fs::exists(dir, ec) || !is_session_dir(dir)) return s;
  s.info = read_session_info(dir);
  s.status = to_string(s.info.status);
  return s;
}

std::string sweep_table(const fs::path& sweep_dir, const SweepSpec& spec,
                        const std::vector<SweepPoint>& points,
                        const std::map<std::string, std::string>& status_override) {
  std::string out = "point";
  for (const auto& k : spec.swept_keys()) {
    out += ',';
    out += csv_field(k);
  }
  out +=
      ",status,epochs_done,epochs,test_error,train_error,samples_per_second,wall_seconds,session\n";
  for (const auto& p : points) {
    const PointState s = read_point_state(sweep_dir, p);
    std::string status = s.status;
    if (const auto it = status_override.find(p.id);
        it != status_override.end() && (status == "pending" || status == "interrupted"))
      status = it->second;
    out += p.id;
    for (const auto& [k, v] : p.values) {
      out += ',';
      out += csv_value(v);
    }
    const bool has = s.status != "pending";
    out += fmt::format(",{},{},{},{},{},{},{},{}\n", status,
                       has ? std::to_string(s.info.epochs_done) : std::string(),
                       has && s.info.epochs_total ? std::to_string(s.info.epochs_total) : "",
                       number(s.info.test_error), number(s.info.train_error),
                       number(s.info.samples_per_second), number(s.info.wall_seconds),
                       csv_field(p.id));
  }
  return out;
}

void write_sweep_table(const fs::path& sweep_dir, const std::string& table) {
  const fs::path file = sweep_dir / "sweep.csv", lock = sweep_dir / ".sweep.lock";
  const int fd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    throw DataError(fmt::format("{}: cannot open: {}", lock.string(), std::strerror(errno)));
  while (::flock(fd, LOCK_EX) != 0 && errno == EINTR) {
  }
  // The temporary's name is this process's own: two writers never share one.
  const fs::path tmp = sweep_dir / fmt::format(".sweep.csv.{}.tmp", ::getpid());
  bool ok = false;
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << table;
    out.flush();
    ok = bool(out);
  }
  std::error_code ec;
  if (ok) fs::rename(tmp, file, ec);
  ::close(fd);
  if (!ok || ec) {
    fs::remove(tmp, ec);
    throw DataError(fmt::format("{}: cannot write the sweep table", file.string()));
  }
}

}  // namespace aeqlab
