#include "core/cli/commands.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <numeric>
#include <random>
#include <streambuf>

#include <spdlog/spdlog.h>

#include "core/checkpoint.hpp"
#include "core/cli/bench_repoint.hpp"
#include "core/cli/bench_reset.hpp"
#include "core/cli/data_parallel.hpp"
#include "core/cli/default_config.hpp"
#include "core/cli/device_factory.hpp"
#include "core/cli/init_from.hpp"
#include "core/cli/session_log.hpp"
#include "core/config.hpp"
#include "core/evaluation.hpp"
#include "core/homeostat.hpp"
#include "core/mnist.hpp"
#include "core/parameter_restore.hpp"
#include "core/session.hpp"
#include "core/session_files.hpp"
#include "core/stop_request.hpp"
#include "core/toy_tasks.hpp"
#include "core/trainer_factory.hpp"
#include "core/training_run.hpp"
#include "drivers/wire_trace.hpp"

namespace aeqlab::cli {

namespace fs = std::filesystem;

namespace {

fs::path executable_dir() {
  std::error_code ec;
  const auto exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::current_path() : exe.parent_path();
}

// Where the MNIST digits are when the config does not say: $AEQLAB_DATA_DIR/mnist, ./data/mnist,
// then the checkout the program was built in (build/bin/../../data/mnist).
fs::path find_mnist_dir(const std::string& configured) {
  if (!configured.empty()) return configured;
  std::vector<fs::path> candidates;
  if (const char* env = std::getenv("AEQLAB_DATA_DIR"))
    candidates.push_back(fs::path(env) / "mnist");
  candidates.push_back(fs::current_path() / "data" / "mnist");
  candidates.push_back(executable_dir() / ".." / ".." / "data" / "mnist");
  for (const auto& c : candidates)
    if (fs::exists(c / "0.json")) return fs::weakly_canonical(c);
  std::string tried;
  for (const auto& c : candidates) tried += "\n  " + c.lexically_normal().string();
  throw DataError("MNIST data not found; run scripts/fetch-mnist, or set data.dir. Looked in:" +
                  tried);
}

// A class-balanced, reproducible subset: shuffled with a fixed seed, so a limit of 1000 is not
// "the first 1000 zeros".
void limit(Dataset& d, std::size_t n) {
  if (n == 0 || n >= d.size()) return;
  std::vector<std::size_t> idx(d.size());
  std::iota(idx.begin(), idx.end(), std::size_t{0});
  std::mt19937_64 rng(0);
  std::shuffle(idx.begin(), idx.end(), rng);
  idx.resize(n);
  std::sort(idx.begin(), idx.end());
  Dataset out = d;
  out.inputs.clear();
  out.labels.clear();
  for (auto i : idx) {
    const auto s = d.sample(i);
    out.inputs.insert(out.inputs.end(), s.begin(), s.end());
    out.labels.push_back(d.labels[i]);
  }
  d = std::move(out);
}

void setup_logging(const nlohmann::json& config) {
  use_console_log();
  const auto level = ConfigReader(config.at("log"), "log")
                         .one_of("level", {"trace", "debug", "info", "warn", "error", "off"});
  spdlog::set_level(spdlog::level::from_str(level));
}

}  // namespace

Split load_data(const nlohmann::json& data) {
  ConfigReader r(data, "data");
  const auto set = r.one_of("set", {"mnist", "xor", "two-moons", "csv"});
  Split s;
  if (set == "mnist") {
    s = load_mnist(find_mnist_dir(r.get<std::string>("dir")));
  } else if (set == "xor") {
    s = xor_task();
  } else if (set == "two-moons") {
    const auto n = r.get<std::size_t>("moons_samples");
    if (n < 2) throw ConfigError("data.moons_samples: needs at least 2 (one of each moon)");
    s = two_moons(n, r.in_range("moons_noise", 0.0, 10.0), 7);
  } else {
    const auto train = r.get<std::string>("csv_train"), test = r.get<std::string>("csv_test");
    if (train.empty()) throw ConfigError("data.csv_train: needed when data.set is \"csv\"");
    s = csv_task(train, test.empty() ? train : test);
  }
  limit(s.train, r.get<std::size_t>("train_limit"));
  limit(s.test, r.get<std::size_t>("test_limit"));
  if (s.train.size() == 0 || s.test.size() == 0)
    throw DataError(fmt::format("data set \"{}\" has no training or no test samples", set));
  return s;
}

namespace {

// Counts what a device's snapshot would weigh, without keeping it.
class CountingBuffer : public std::streambuf {
 public:
  std::size_t count = 0;

 protected:
  int_type overflow(int_type c) override {
    ++count;
    return c;
  }
  std::streamsize xsputn(const char*, std::streamsize n) override {
    count += std::size_t(n);
    return n;
  }
};

// Refuses a run whose checkpoints the disk cannot hold, before anything is trained: a lab user
// learns it now, not at 3 a.m. when the first checkpoint fails.
void check_room_for_checkpoints(const fs::path& dir, const Device& device,
                                const SessionSettings& ss, std::size_t samples, bool resume) {
  const auto& d = device.describe();
  std::size_t checkpoint = d.parameter_count() * 8 * 2 + samples * 8;
  if (d.capabilities.snapshot) {
    CountingBuffer counter;
    std::ostream out(&counter);
    device.save_snapshot(out);
    checkpoint += counter.count;
  } else {
    checkpoint += d.knob_count() * 8 * 2;
  }
  // The logs' first hours at the default detail, and slack. A resumed session already holds its
  // checkpoints: it needs room for one more.
  const double margin = 16e6;
  const double copies = resume ? 1.0 : double(ss.checkpoint_keep) + 1.0;
  const double needed = double(checkpoint) * copies + double(d.parameter_count()) * 8 + margin;
  fs::path probe = fs::absolute(dir);
  while (!fs::exists(probe) && probe.has_parent_path() && probe != probe.parent_path())
    probe = probe.parent_path();
  std::error_code ec;
  const auto space = fs::space(probe, ec);
  if (ec) return;  // no answer: the session's own writes will report the problem
  if (double(space.available) < needed)
    throw ConfigError(fmt::format(
        "session folder {}: {:.1f} MB free on its disk, but {:.0f} checkpoint(s) of {:.1f} MB and "
        "the logs need about {:.1f} MB; free some space, choose another --out, or lower "
        "session.checkpoint.keep",
        dir.string(), double(space.available) / 1e6, copies, double(checkpoint) / 1e6,
        needed / 1e6));
}

}  // namespace

TrainOutcome train_session(const TrainOptions& options) {
  EarlyLog early;  // what is said before the session folder exists goes to log.txt too
  const bool resume = options.resume.has_value();
  nlohmann::json config;
  if (resume) {
    if (options.config || !options.settings.empty() || options.out || options.init_from ||
        options.resolved_config)
      throw ConfigError(
          "--resume continues a session with the config it recorded; it takes no --config, "
          "--set, --out or --init-from (--bench only re-points its recorded bench at new "
          "addresses)");
    const fs::path config_file = *options.resume / "config.json";
    if (!fs::exists(config_file))
      throw ConfigError(
          fmt::format("{}: not a session folder (no config.json)", options.resume->string()));
    config = resolve_config(default_config(), config_file, {});
    if (options.extend_to) {
      const auto recorded = config.at("trainer").at("epochs").get<std::size_t>();
      if (*options.extend_to <= recorded)
        throw ConfigError(
            fmt::format("--epochs {}: the session already runs to {} epochs; extending needs more",
                        *options.extend_to, recorded));
      config["trainer"]["epochs"] = *options.extend_to;
    }
  } else if (options.resolved_config) {
    config = *options.resolved_config;
  } else {
    config = resolve_config(default_config(), options.config, options.settings);
    // Recorded in the session's config.json as an absolute path: where this session started from.
    if (options.init_from)
      config["session"]["init_from"] = fs::absolute(*options.init_from).lexically_normal().string();
    if (options.bench) {
      config["device"] = {{"type", "bench"}, {"bench", options.bench->string()}};
      // Hardware has one replica: one sample per step, one per evaluation pass.
      if (config["trainer"].value("batch_size", 1) != 1)
        spdlog::info("a bench has one replica: trainer.batch_size {} -> 1",
                     config["trainer"]["batch_size"].dump());
      config["trainer"]["batch_size"] = std::size_t{1};
    }
  }
  setup_logging(config);
  DataParallel ranks;  // under mpirun: one run over every rank (docs/mpi.md)
  // The session's config.json keeps the bench it was trained on; device.json, written again
  // below, records where its instruments were reached this time.
  if (resume && options.bench)
    config["device"] = repoint_bench(config.at("device"), *options.bench);
  const TrainerSettings settings = trainer_settings_from(config.at("trainer"));
  SessionSettings session_settings = session_settings_from(config.at("session"));
  std::unique_ptr<Device> made;
  if (!options.device) {
    if (config.at("device").value("type", "") == "python")
      throw ConfigError(
          "device.type \"python\": the session's device was written in Python; continue it from "
          "Python with aeqlab.train(resume=..., device=...) (docs/python.md)");
    config["device"] = resolved_device_section(config.at("device"), settings.batch_size);
  }
  const Split data = load_data(config.at("data"));
  // Every message to and from the bench's instruments, from the first (docs/bench.md).
  std::shared_ptr<drivers::WireTrace> trace;
  if (config.at("device").value("type", "") == "bench" &&
      ConfigReader(config.at("session"), "session").get<bool>("wire_trace")) {
    std::map<std::string, std::string> names;
    const auto& b = config.at("device").at("bench");
    const auto bench = b.is_string() ? read_json_file(b.get<std::string>()) : b;
    for (const auto& ins : bench.value("instruments", nlohmann::json::array()))
      if (ins.is_object()) names[ins.value("address", "")] = ins.value("name", "");
    trace = std::make_shared<drivers::WireTrace>(std::move(names));
    drivers::set_wire_trace(trace);
  }
  // A new session on a virtual bench starts from the server's initial state, not from where the
  // last session left it (docs/virtual-bench.md, "*RST"); so does one resumed before it had a
  // checkpoint, which starts over.
  const bool on_bench = config.at("device").value("type", "") == "bench";
  std::size_t reset = 0;
  if (on_bench && ConfigReader(config.at("session"), "session").get<bool>("reset_virtual_bench") &&
      (!resume || CheckpointStore(*options.resume, 1).sequences().empty()))
    reset = reset_virtual_bench(config.at("device"));
  if (!options.device) made = ranks.make_device(config.at("device"), settings.batch_size);
  Device* const device = options.device ? options.device : made.get();
  check_run(settings, *device, data);
  const std::string init_from =
      ConfigReader(config.at("session"), "session").get<std::string>("init_from");
  // Built here from the config with nothing else put on it (a virtual bench: reset by *RST): its
  // start can be made again and needs no checkpoint 0 (core/run.cpp, Run::begin).
  session_settings.start_from_config = made != nullptr && init_from.empty() && (!on_bench || reset);
  session_settings.start_is_reset = on_bench && reset > 0;
  if (!resume && !init_from.empty())
    init_from_session(*device, init_from,
                      {.tolerance = session_settings.restore_tolerance,
                       .max_rounds = session_settings.restore_max_rounds,
                       .gain = settings.feedback_gain});

  std::unique_ptr<Session> session;
  if (resume) {
    const fs::path summary_file = *options.resume / "summary.json";
    if (fs::exists(summary_file)) {
      nlohmann::json summary;
      try {
        summary = read_session_json(summary_file);  // bounded, depth checked
      } catch (const DataError& e) {
        // A damaged summary says nothing reliable: resume from the checkpoints.
        spdlog::warn("{}; resuming from the checkpoints", e.what());
      }
      const auto status = summary.is_object() ? summary.find("status") : summary.end();
      if (!options.extend_to && status != summary.end() && status->is_string() &&
          run_status_from(status->get<std::string>()) == RunStatus::completed) {
        std::cerr << "aeqlab: " << options.resume->string()
                  << ": the run has completed; nothing to resume\n";
        return {.result = {.status = RunStatus::completed, .summary = summary},
                .session = *options.resume,
                .exit_status = 0};
      }
    }
    check_room_for_checkpoints(*options.resume, *device, session_settings, data.train.size(), true);
    session =
        std::make_unique<Session>(ranks.session_dir(*options.resume, true), Session::Reopen{});
    if (options.extend_to) {
      // The same session goes on: its config.json says how far it now runs, and nothing else
      // changes (docs/sessions.md, "Extending a completed session").
      nlohmann::json recorded = read_json_file((*options.resume / "config.json").string());
      const auto before = recorded["trainer"].value("epochs", std::size_t{0});
      recorded["trainer"]["epochs"] = *options.extend_to;
      session->write_json("config.json", recorded);
      spdlog::info("extending the session from {} to {} epochs", before, *options.extend_to);
    }
    session->write_json("device.json", describe_json(*device));
  } else {
    const auto& session_cfg = config.at("session");
    const fs::path dir = options.out ? *options.out
                                     : Session::new_dir(session_cfg.at("root").get<std::string>(),
                                                        session_cfg.at("name").get<std::string>());
    check_room_for_checkpoints(dir, *device, session_settings, data.train.size(), false);
    session = std::make_unique<Session>(ranks.session_dir(dir, false));
    session->write_json("config.json", config);
    session->write_json("device.json", describe_json(*device));
  }
  const SessionLog session_log(session->dir(), early);
  if (trace) trace->attach(session->dir() / "wire.jsonl");
  spdlog::info("session {}", session->dir().string());
  spdlog::info("{}: {} train / {} test samples, {} epoch{}, {}", device->describe().model,
               data.train.size(), data.test.size(), settings.epochs,
               settings.epochs == 1 ? "" : "s", describe_trainer(settings));

  install_stop_handlers();
  ranks.share_stop_requests();
  const RunResult result =
      run_training(settings, session_settings, *device, data, *session, resume);
  ranks.end_job_if_failed(result.status == RunStatus::failed);

  const auto& s = result.summary;
  if (s.contains("test_error")) {
    // The train error is measured with the final parameters only when the run completed.
    const std::string train =
        s.contains("train_error")
            ? fmt::format("train error {:.2f}%, ", 100 * s["train_error"].get<double>())
            : "";
    spdlog::info("{}: {}test error {:.2f}%, {:.0f} samples/s, {:.1f} s", to_string(result.status),
                 train, 100 * s["test_error"].get<double>(), s["samples_per_second"].get<double>(),
                 s["wall_seconds"].get<double>());
  }
  // A fault is resumable once its cause is fixed (a full disk, an instrument that stopped
  // answering); a stop on request is resumable as it is.
  if (result.status != RunStatus::completed)
    spdlog::warn("{}: {}; {}continue with: aeqlab train --resume {}", to_string(result.status),
                 s.value("reason", std::string()),
                 result.status == RunStatus::failed ? "once that is fixed, " : "",
                 session->dir().string());
  spdlog::info("summary: {}", (session->dir() / "summary.json").string());
  const int exit_status = result.status == RunStatus::aborted
                              ? 128 + (stop_signal() ? stop_signal() : 2)
                              : (result.status == RunStatus::completed ? 0 : 1);
  return {.result = result, .session = session->dir(), .exit_status = exit_status};
}

int train_command(const TrainOptions& options) {
  return train_session(options).exit_status;
}

nlohmann::json evaluate_session(const fs::path& session_dir,
                                const std::vector<std::string>& settings, Device* given,
                                const std::optional<fs::path>& bench) {
  const fs::path config_file = session_dir / "config.json";
  if (!fs::exists(config_file))
    throw ConfigError(
        fmt::format("{}: not a session folder (no config.json)", session_dir.string()));
  nlohmann::json config = resolve_config(default_config(), config_file, settings);
  setup_logging(config);
  if (bench) config["device"] = repoint_bench(config.at("device"), *bench);
  const TrainerSettings ts = trainer_settings_from(config.at("trainer"));
  const SessionSettings ss = session_settings_from(config.at("session"));
  const Split data = load_data(config.at("data"));
  std::unique_ptr<Device> made;
  if (!given) made = make_device(config.at("device"), ts.batch_size);
  Device* const device = given ? given : made.get();
  const auto& d = device->describe();

  const fs::path param_file = session_dir / "parameters.f64";
  std::ifstream in(param_file, std::ios::binary);
  if (!in) throw DataError(fmt::format("{}: cannot open the parameter file", param_file.string()));
  std::vector<double> theta(d.parameter_count());
  in.read(reinterpret_cast<char*>(theta.data()), std::streamsize(theta.size() * sizeof(double)));
  if (in.gcount() != std::streamsize(theta.size() * sizeof(double)) || in.peek() != EOF)
    throw DataError(fmt::format("{}: expected {} float64 values for {}", param_file.string(),
                                theta.size(), d.model));
  // Written where the device can set them, else held by its knobs (a bench), and verified by
  // readback as a resume does (docs/sessions.md, "Continuing a run").
  const RestoreReport restored = restore_parameters(*device, theta,
                                                    {.tolerance = ss.restore_tolerance,
                                                     .max_rounds = ss.restore_max_rounds,
                                                     .gain = ts.feedback_gain});
  if (!restored.written && !restored.verified)
    throw ConfigError(d.model +
                      " can neither have its parameters written nor read them back; eval cannot "
                      "put the session's parameters on it");
  if (restored.verified && !restored.within)
    throw DeviceError(fmt::format(
        "{}: cannot bring the device to the session's parameters: {} (tolerance {:.3g}, "
        "session.restore.tolerance)",
        d.model, describe(restored), ss.restore_tolerance));
  if (restored.verified)
    spdlog::info("the device holds the session's parameters: {}", describe(restored));

  auto homeostat = make_trainer_homeostat(ts, *device);
  Dataset train = data.train, test = data.test;
  train.classes = test.classes = d.outputs.count;
  Evaluation tr, te;
  try {
    // A stop request (Ctrl-C) ends the evaluation at the next sample; whatever ends it, the
    // device is left in its safe state (docs/python.md, section 2).
    tr = evaluate(*device, *homeostat, theta, train, true);
    te = evaluate(*device, *homeostat, theta, test, true);
  } catch (...) {
    device->safe_state();
    throw;
  }
  device->safe_state();
  const nlohmann::json result = {{"train_error", tr.error_rate()}, {"train_cost", tr.cost},
                                 {"test_error", te.error_rate()},  {"test_cost", te.cost},
                                 {"train_samples", tr.samples},    {"test_samples", te.samples}};
  return result;
}

int eval_command(const fs::path& session_dir, const std::vector<std::string>& settings,
                 const std::optional<fs::path>& bench) {
  install_stop_handlers();
  std::cout << evaluate_session(session_dir, settings, nullptr, bench).dump() << std::endl;
  return 0;
}

int print_default_config() {
  std::cout << default_config().dump(2) << std::endl;
  return 0;
}

}  // namespace aeqlab::cli
