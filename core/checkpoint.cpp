#include "core/checkpoint.hpp"

#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <limits>
#include <stdexcept>

#include <spdlog/fmt/fmt.h>

#include "core/durable_files.hpp"
#include "core/error.hpp"
#include "core/session.hpp"
#include "core/session_files.hpp"

namespace aeqlab {

namespace fs = std::filesystem;

namespace {

static_assert(std::endian::native == std::endian::little,
              "checkpoint files are written as little-endian float64 / uint64");

template <typename V>
std::string_view bytes_of(const std::vector<V>& v) {
  return {reinterpret_cast<const char*>(v.data()), v.size() * sizeof(V)};
}

bool is_sequence_name(const std::string& name) {
  return !name.empty() &&
         std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

CheckpointStore::CheckpointStore(fs::path session_dir, std::size_t keep)
    : root_(std::move(session_dir) / "checkpoints"), keep_(std::max<std::size_t>(keep, 1)) {}

fs::path CheckpointStore::path_of(std::uint64_t sequence) const {
  return root_ / fmt::format("{:06d}", sequence);
}

std::vector<std::uint64_t> CheckpointStore::sequences() const {
  std::vector<std::uint64_t> seqs;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root_, ec)) {
    const std::string name = entry.path().filename().string();
    std::uint64_t seq = 0;
    // A name of more digits than a sequence holds is someone else's folder, not a checkpoint.
    if (entry.is_directory() && is_sequence_name(name) &&
        std::from_chars(name.data(), name.data() + name.size(), seq).ec == std::errc() &&
        path_of(seq).filename() == name)
      seqs.push_back(seq);
  }
  std::sort(seqs.begin(), seqs.end());
  return seqs;
}

fs::path CheckpointStore::save(const Checkpoint& c) {
  DurableFiles files;
  const Staged staged = stage(c, files);
  files.sync_all();
  return publish(staged);
}

void CheckpointStore::prepare() const {
  std::error_code ec;
  fs::create_directories(root_, ec);
  if (ec)
    throw std::runtime_error(fmt::format("{}: cannot create: {}", root_.string(), ec.message()));
  if (::access(root_.c_str(), W_OK) != 0)
    throw std::runtime_error(
        fmt::format("{}: cannot write there: {}", root_.string(), std::strerror(errno)));
}

void CheckpointStore::try_room(const Checkpoint& c) const {
  prepare();
  const std::size_t bytes = (c.parameters.size() + c.knobs.size() + c.homeostat_memory.size() +
                             c.epoch_start_parameters.size()) *
                                sizeof(double) +
                            c.order.size() * sizeof(std::uint64_t) + c.device_snapshot.size() +
                            c.progress.dump().size();
  const fs::path trial = root_ / ".room.tmp";
  {
    DurableFiles files;  // closed unsynced
    files.write(trial, std::string(bytes, '\0'));
  }
  std::error_code ec;
  fs::remove(trial, ec);
}

CheckpointStore::Staged CheckpointStore::stage(const Checkpoint& c, DurableFiles& files) {
  std::error_code ec;
  prepare();
  const fs::path tmp = root_ / fmt::format(".{:06d}.tmp", c.sequence);
  fs::remove_all(tmp, ec);  // left by a run killed while writing it
  fs::create_directory(tmp, ec);
  if (ec)
    throw std::runtime_error(fmt::format("{}: cannot create: {}", tmp.string(), ec.message()));

  nlohmann::json manifest = {{"format", 1},
                             {"sequence", c.sequence},
                             {"time", Session::utc_now()},
                             {"progress", c.progress},
                             {"parameters", c.parameters.size()},
                             {"knobs", c.knobs.size()},
                             {"homeostat_memory", c.homeostat_memory.size()},
                             {"epoch_start_parameters", c.epoch_start_parameters.size()},
                             {"order", c.order.size()},
                             {"device_snapshot", c.device_snapshot.size()}};
  // Every file written first, then every one synced (by the caller, with whatever else shares
  // the batch); the rename (publish) comes only after all of them are on the disk.
  if (!c.parameters.empty()) files.write(tmp / "parameters.f64", bytes_of(c.parameters));
  if (!c.knobs.empty()) files.write(tmp / "knobs.f64", bytes_of(c.knobs));
  if (!c.homeostat_memory.empty()) files.write(tmp / "homeostat.f64", bytes_of(c.homeostat_memory));
  if (!c.epoch_start_parameters.empty())
    files.write(tmp / "epoch_start.f64", bytes_of(c.epoch_start_parameters));
  if (!c.order.empty()) files.write(tmp / "order.u64", bytes_of(c.order));
  if (!c.device_snapshot.empty()) files.write(tmp / "device.snapshot", c.device_snapshot);
  files.write(tmp / "checkpoint.json", manifest.dump(2) + "\n");
  return {tmp, path_of(c.sequence)};
}

fs::path CheckpointStore::publish(const Staged& staged) {
  rename_into_place(staged);
  sync_folder(root_);
  prune();
  return staged.final_dir;
}

void CheckpointStore::rename_into_place(const Staged& staged) {
  std::error_code ec;
  sync_folder(staged.tmp);
  fs::remove_all(staged.final_dir, ec);
  fs::rename(staged.tmp, staged.final_dir, ec);
  if (ec)
    throw std::runtime_error(
        fmt::format("{}: cannot write: {}", staged.final_dir.string(), ec.message()));
}

void CheckpointStore::prune() {
  std::error_code ec;
  // Prune only once the new one is in place: there is always a whole checkpoint on disk.
  auto seqs = sequences();
  while (seqs.size() > keep_) {
    fs::remove_all(path_of(seqs.front()), ec);
    seqs.erase(seqs.begin());
  }
}

Checkpoint CheckpointStore::load(std::uint64_t sequence, const CheckpointLimits& limits) const {
  const fs::path dir = path_of(sequence);
  const fs::path manifest_file = dir / "checkpoint.json";
  // Size and depth checked before parsing; each count checked before its file is read, and
  // each file's size against its count before anything is allocated.
  const nlohmann::json m = read_session_json(manifest_file);
  Checkpoint c;
  const auto format = session_count(m, "format", 1000, manifest_file);
  if (format != 1)
    throw DataError(fmt::format("{}: format: unknown format {}", manifest_file.string(), format));
  c.sequence =
      session_count(m, "sequence", std::numeric_limits<std::uint64_t>::max(), manifest_file);
  if (c.sequence != sequence)
    throw DataError(fmt::format("{}: sequence: {} in the folder of checkpoint {}",
                                manifest_file.string(), c.sequence, sequence));
  if (!m.contains("progress") || !m.at("progress").is_object())
    throw DataError(fmt::format("{}: progress: missing or not an object", manifest_file.string()));
  c.progress = m.at("progress");
  auto count = [&](const char* key, std::uint64_t max) {
    return session_count(m, key, max, manifest_file);
  };
  if (const auto n = count("parameters", limits.parameters))
    c.parameters = read_session_values<double>(dir / "parameters.f64", n);
  if (const auto n = count("knobs", limits.knobs))
    c.knobs = read_session_values<double>(dir / "knobs.f64", n);
  if (const auto n = count("homeostat_memory", limits.homeostat_memory))
    c.homeostat_memory = read_session_values<double>(dir / "homeostat.f64", n);
  if (const auto n = count("epoch_start_parameters", limits.parameters))
    c.epoch_start_parameters = read_session_values<double>(dir / "epoch_start.f64", n);
  if (const auto n = count("order", limits.order))
    c.order = read_session_values<std::uint64_t>(dir / "order.u64", n);
  if (const auto n = count("device_snapshot", limits.snapshot_bytes)) {
    c.device_snapshot = read_session_bytes(dir / "device.snapshot", n);
    if (c.device_snapshot.size() != n)
      throw DataError(fmt::format("{}: {} bytes, expected {}", (dir / "device.snapshot").string(),
                                  c.device_snapshot.size(), n));
  }
  return c;
}

std::optional<Checkpoint> CheckpointStore::load_latest(std::vector<std::string>& warnings,
                                                       const CheckpointLimits& limits) const {
  const auto seqs = sequences();
  for (auto it = seqs.rbegin(); it != seqs.rend(); ++it) {
    try {
      return load(*it, limits);
    } catch (const std::exception& e) {
      warnings.push_back(fmt::format("checkpoint {} is damaged, trying an older one: {}",
                                     path_of(*it).string(), e.what()));
    }
  }
  return std::nullopt;
}

}  // namespace aeqlab
