#include "core/cli/sweep_command.hpp"

#include <algorithm>
#include <chrono>
#include <deque>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include <spdlog/fmt/fmt.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "core/cli/default_config.hpp"
#include "core/cli/device_factory.hpp"
#include "core/cli/mpi_world.hpp"
#include "core/cli/sweep_runner.hpp"
#include "core/config.hpp"
#include "core/cpu_cores.hpp"
#include "core/error.hpp"
#include "core/session_settings.hpp"
#include "core/stop_request.hpp"
#include "core/sweep_table.hpp"
#include "core/trainer_settings.hpp"

namespace aeqlab::cli {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr int kReady = 1;    // worker -> coordinator: the point it finished (-1: none yet)
constexpr int kWork = 2;     // coordinator -> worker: the point to run (-1: no more)
constexpr int kLeaving = 3;  // worker -> coordinator: stopped on request, after this point

void pause() {
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
}

// The stop level asked of this process so far: 0 none, 1 stop after the step, 2 stop now.
int stop_level() {
  return urgent_stop_requested() ? 2 : stop_requested() ? 1 : 0;
}

// Waits for one point's child to end, passing each stop request on to it; its exit status.
int wait_passing_stops(PointChild& child) {
  int signalled = 0;
  std::optional<int> status;
  while (!(status = child.poll())) {
    for (const int level = stop_level(); signalled < level; ++signalled) child.stop();
    pause();
  }
  return *status;
}

std::string describe(const SweepPoint& p) {
  std::string s;
  for (const auto& [k, v] : p.values) s += (s.empty() ? "" : ", ") + k + "=" + v.dump();
  return s;
}

// Every point's config, checked as `aeqlab train` would check it before touching a device: a key
// the config does not have, a value out of range, a device section its type refuses. Nothing runs
// until every point passes.
std::vector<json> checked_configs(const SweepSpec& spec, const std::vector<SweepPoint>& points) {
  std::vector<json> configs;
  for (const auto& p : points) {
    json config = point_config(spec, p, default_config());
    try {
      const TrainerSettings ts = trainer_settings_from(config.at("trainer"));
      (void)session_settings_from(config.at("session"));
      (void)resolved_device_section(config.at("device"), ts.batch_size);
    } catch (const ConfigError& e) {
      throw ConfigError(
          fmt::format("{}: point {} ({}): {}", spec.file.string(), p.id, describe(p), e.what()));
    }
    configs.push_back(std::move(config));
  }
  return configs;
}

// DIR/sweep.json records what the sweep is; a second `aeqlab sweep` on the same DIR continues it
// only if it lists the same points.
void prepare_folder(const fs::path& dir, const SweepSpec& spec,
                    const std::vector<SweepPoint>& points, const std::vector<json>& configs) {
  json record = {
      {"spec", spec.file.string()}, {"keys", spec.swept_keys()}, {"points", json::array()}};
  for (const auto& p : points)
    record["points"].push_back({{"id", p.id}, {"overrides", p.overrides}});
  const fs::path file = dir / "sweep.json";
  std::error_code ec;
  if (fs::exists(file, ec)) {
    const json before = read_json_file(file);
    if (before.value("points", json()) != record["points"])
      throw ConfigError(fmt::format(
          "{}: this folder holds another sweep (its points differ from {}'s); choose another --out",
          dir.string(), spec.file.string()));
  }
  fs::create_directories(dir / "configs", ec);
  if (ec)
    throw DataError(
        fmt::format("{}: cannot create the sweep folder: {}", dir.string(), ec.message()));
  auto write = [](const fs::path& f, const json& j) {
    const fs::path tmp = f.string() + ".tmp";
    {
      std::ofstream out(tmp);
      out << j.dump(2) << "\n";
      if (!out) throw DataError(fmt::format("{}: cannot write", f.string()));
    }
    fs::rename(tmp, f);
  };
  write(file, record);
  for (std::size_t i = 0; i < points.size(); ++i)
    write(dir / "configs" / (points[i].id + ".json"), configs[i]);
}

// Whether a point still needs running: never started, interrupted, or stopped on request.
// Completed points are kept; failed ones are reported and left (they would fail again the same
// way).
bool needs_running(const std::string& status) {
  return status == "pending" || status == "interrupted" || status == "aborted";
}

// The points to run, and those another process runs now (their session locked: a point of a
// killed sweep still stopping, or a Slurm task), which are looked at again until they end.
std::pair<std::deque<std::size_t>, std::vector<std::size_t>> points_to_run(
    const fs::path& dir, const std::vector<SweepPoint>& points) {
  std::deque<std::size_t> todo;
  std::vector<std::size_t> elsewhere;
  for (const auto& p : points) {
    const std::string s = read_point_state(dir, p).status;
    if (needs_running(s))
      todo.push_back(p.index);
    else if (s == "running")
      elsewhere.push_back(p.index);
    else if (s == "failed" || s == "unreadable")
      spdlog::warn("point {}: {}; not run again (see {}/{})", p.id, s, dir.string(), p.id);
  }
  return {todo, elsewhere};
}

class Sweep {
 public:
  Sweep(const SweepOptions& o, SweepSpec spec, std::vector<SweepPoint> points)
      : o_(o), spec_(std::move(spec)), points_(std::move(points)) {}

  void write_table() {
    std::map<std::string, std::string> running;
    for (std::size_t i : busy_) running[points_[i].id] = "running";
    write_sweep_table(o_.out, sweep_table(o_.out, spec_, points_, running));
  }

  // Each point's share of this machine's cores: points that run side by side (this process's
  // jobs, and under mpirun the other ranks' points on the same node) must not each take them all.
  std::size_t cores_each() const {
    std::size_t here = o_.jobs;
    if (const auto world = mpi::world()) here += world->size_here() - 1;  // one point per worker
    return std::max<std::size_t>(1, cores_available() / std::max<std::size_t>(1, here));
  }

  // The local pool, and under MPI the coordinator: rank 0 hands points to the workers as they ask.
  int coordinate(std::deque<std::size_t> todo, std::vector<std::size_t> elsewhere, int workers) {
    const std::size_t total = todo.size();
    if (!elsewhere.empty())
      spdlog::info("{} point(s) run by another process now; taken up if they stop unfinished",
                   elsewhere.size());
    spdlog::info("sweep {}: {} point(s), {} to run, {} local job(s){}", o_.out.string(),
                 points_.size(), total, o_.jobs,
                 workers ? fmt::format(", {} MPI worker rank(s)", workers) : std::string());
    write_table();
    std::vector<std::unique_ptr<PointChild>> local;
    std::map<int, std::size_t> remote;  // rank -> point
    int retired = 0;
    int signalled = 0;  // stop requests passed on to the children so far
    while (true) {
      const bool stopping = stop_requested();
      for (const int level = stop_level(); signalled < level; ++signalled)
        for (auto& c : local) c->stop();
      bool changed = false;
      for (auto it = elsewhere.begin(); it != elsewhere.end();) {
        const std::string st = read_point_state(o_.out, points_[*it]).status;
        if (st == "running") {
          ++it;
          continue;
        }
        if (needs_running(st)) todo.push_back(*it);
        it = elsewhere.erase(it);
        changed = true;
      }
      for (auto it = local.begin(); it != local.end();) {
        if (const auto st = (*it)->poll()) {
          finished((*it)->point(), *st);
          busy_.erase((*it)->point().index);
          it = local.erase(it);
          changed = true;
        } else {
          ++it;
        }
      }
      while (!stopping && !todo.empty() && local.size() < o_.jobs) {
        const std::size_t i = todo.front();
        todo.pop_front();
        spdlog::info("point {} ({}) starts here", points_[i].id, describe(points_[i]));
        local.push_back(std::make_unique<PointChild>(o_.out, points_[i], cores_each()));
        busy_.insert(i);
        changed = true;
      }
      if (workers) {
        while (const auto m = mpi::poll(kReady)) {
          const auto [from, done] = *m;
          if (done >= 0) {
            busy_.erase(std::size_t(done));
            remote.erase(from);
            changed = true;
          }
          if (stopping || (todo.empty() && elsewhere.empty())) {
            mpi::send(from, kWork, -1);
            ++retired;
          } else {
            const std::size_t i = todo.front();
            todo.pop_front();
            spdlog::info("point {} ({}) starts on rank {}", points_[i].id, describe(points_[i]),
                         from);
            mpi::send(from, kWork, long(i));
            remote[from] = i;
            busy_.insert(i);
            changed = true;
          }
        }
        while (const auto m = mpi::poll(kLeaving)) {
          if (m->second >= 0) busy_.erase(std::size_t(m->second));
          remote.erase(m->first);
          ++retired;
          changed = true;
        }
      }
      if (changed) write_table();
      const bool work_left = !stopping && (!todo.empty() || !elsewhere.empty());
      if (!work_left && local.empty() && remote.empty() && retired == workers) break;
      pause();
    }
    write_table();
    return outcome();
  }

  // An MPI worker: asks rank 0 for points until it says there are none left.
  int work() {
    long done = -1;
    while (true) {
      mpi::send(0, kReady, done);
      const long next = mpi::receive(0, kWork, {});
      if (next < 0) break;
      PointChild child(o_.out, points_[std::size_t(next)], cores_each());
      wait_passing_stops(child);
      done = next;
      if (stop_requested()) {
        mpi::send(0, kLeaving, done);
        break;
      }
    }
    return stop_requested() ? 128 + (stop_signal() ? stop_signal() : 2) : 0;
  }

  // One point, as a Slurm array task: the others are other tasks' business.
  int one(std::size_t index) {
    const SweepPoint& p = points_[index];
    const std::string s = read_point_state(o_.out, p).status;
    if (s == "completed" || s == "running") {
      spdlog::info("point {}: {}; nothing to do", p.id, s);
      write_table();
      return 0;
    }
    spdlog::info("point {} ({}) starts", p.id, describe(p));
    busy_.insert(index);
    write_table();
    PointChild child(o_.out, p, cores_each());
    const int status = wait_passing_stops(child);
    busy_.erase(index);
    finished(p, status);
    write_table();
    return read_point_state(o_.out, p).status == "completed" ? 0 : (status ? status : 1);
  }

 private:
  void finished(const SweepPoint& p, int exit_status) {
    const auto state = read_point_state(o_.out, p);
    if (state.status == "completed")
      spdlog::info("point {}: completed, test error {}", p.id,
                   state.info.test_error ? fmt::format("{:.2f}%", 100 * *state.info.test_error)
                                         : std::string("?"));
    else
      spdlog::warn("point {}: {} (exit status {}); its console is in {}/logs/{}.txt", p.id,
                   state.status, exit_status, o_.out.string(), p.id);
  }

  int outcome() const {
    if (stop_requested()) return 128 + (stop_signal() ? stop_signal() : 2);
    std::size_t done = 0;
    for (const auto& p : points_) done += read_point_state(o_.out, p).status == "completed";
    spdlog::info("sweep {}: {} of {} point(s) completed; table: {}", o_.out.string(), done,
                 points_.size(), (o_.out / "sweep.csv").string());
    return done == points_.size() ? 0 : 1;
  }

  const SweepOptions& o_;
  SweepSpec spec_;
  std::vector<SweepPoint> points_;
  std::set<std::size_t> busy_;
};

}  // namespace

int sweep_command(const SweepOptions& o) {
  if (o.jobs == 0) throw ConfigError("--jobs: must be at least 1");
  const bool under_mpi = mpi::start();
  const int rank = mpi::rank(), ranks = mpi::size();
  // As `aeqlab train` logs: to stderr, stdout kept for results (the --check listing).
  spdlog::set_default_logger(spdlog::stderr_color_mt("aeqlab-sweep"));
  spdlog::set_pattern(ranks > 1 ? fmt::format("[%H:%M:%S] rank {} %^%l%$ %v", rank)
                                : std::string("[%H:%M:%S] %^%l%$ %v"));
  if (under_mpi && o.index)
    throw ConfigError(
        "--index runs one point (a Slurm array task); under mpirun the ranks share "
        "the points themselves: leave --index out");

  SweepSpec spec = read_sweep_spec(o.spec);
  std::vector<SweepPoint> points = sweep_points(spec);
  const std::vector<json> configs = checked_configs(spec, points);
  if (o.index && *o.index >= points.size())
    throw ConfigError(fmt::format("--index {}: the sweep has {} point(s) (0 to {})", *o.index,
                                  points.size(), points.size() - 1));
  if (o.check_only) {
    if (rank == 0) {
      std::cout << "point";
      for (const auto& k : spec.swept_keys()) std::cout << "," << k;
      std::cout << "\n";
      for (const auto& p : points) {
        std::cout << p.id;
        for (const auto& [k, v] : p.values) std::cout << "," << v.dump();
        std::cout << "\n";
      }
    }
    return 0;
  }

  if (rank == 0) prepare_folder(o.out, spec, points, configs);
  mpi::barrier();  // the workers start points only once the folder and configs are there
  install_stop_handlers();
  Sweep sweep(o, std::move(spec), points);
  if (o.index) return sweep.one(*o.index);
  if (rank != 0) return sweep.work();
  auto [todo, elsewhere] = points_to_run(o.out, points);
  return sweep.coordinate(std::move(todo), std::move(elsewhere), ranks - 1);
}

}  // namespace aeqlab::cli
