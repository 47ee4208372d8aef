#include "core/training_run.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <memory>
#include <numeric>
#include <optional>
#include <random>
#include <sstream>

#include <spdlog/spdlog.h>

#include "core/checkpoint.hpp"
#include "core/config.hpp"
#include "core/emergency_stop.hpp"
#include "core/error.hpp"
#include "core/evaluation.hpp"
#include "core/metrics_table.hpp"
#include "core/progress.hpp"
#include "core/sha256.hpp"
#include "core/stop_request.hpp"
#include "core/trainer_factory.hpp"

namespace aeqlab {

SessionSettings session_settings_from(const nlohmann::json& session) {
  ConfigReader r(session, "session");
  SessionSettings s;
  const auto detail = r.one_of("detail", {"off", "epoch", "step", "phase"});
  s.detail = detail == "off"     ? Detail::off
             : detail == "epoch" ? Detail::epoch
             : detail == "step"  ? Detail::step
                                 : Detail::phase;
  ConfigReader c(session.at("checkpoint"), "session.checkpoint");
  s.checkpoint_every_steps = c.get<std::size_t>("every_steps");
  s.checkpoint_every_seconds = c.in_range("every_seconds", 0.0, 1e9);
  s.checkpoint_every_epochs = c.get<std::size_t>("every_epochs");
  s.checkpoint_keep = c.get<std::size_t>("keep");
  if (s.checkpoint_keep == 0) throw ConfigError("session.checkpoint.keep: must be >= 1");
  return s;
}

nlohmann::json describe_json(const Device& device) {
  const auto& d = device.describe();
  auto group = [](const ChannelGroup& g) {
    return nlohmann::json{{"name", g.name},
                          {"count", g.count},
                          {"unit", g.unit},
                          {"safe", {g.safe.low, g.safe.high}},
                          {"safe_value", g.safe_value}};
  };
  nlohmann::json parameters = nlohmann::json::array(), knobs = nlohmann::json::array();
  for (const auto& p : d.parameters) {
    auto j = group(p.channels);
    j["compliance"] = p.compliance;
    parameters.push_back(j);
  }
  for (const auto& k : d.knobs) knobs.push_back(group(k));
  nlohmann::json instruments = nlohmann::json::array();
  for (const auto& i : device.instruments())
    instruments.push_back({{"name", i.name}, {"identity", i.identity}, {"address", i.address}});
  const auto& c = d.capabilities;
  nlohmann::json description = {{"model", d.model},
                                {"replicas", d.replicas},
                                {"inputs", group(d.inputs)},
                                {"outputs", group(d.outputs)},
                                {"nudge", {d.nudge.low, d.nudge.high}},
                                {"parameters", parameters},
                                {"knobs", knobs},
                                {"capabilities",
                                 {{"parameter_readback", c.parameter_readback},
                                  {"native_homeostasis", c.native_homeostasis},
                                  {"adjustable_compliance", c.adjustable_compliance},
                                  {"settable_parameters", c.settable_parameters},
                                  {"local_probes", c.local_probes},
                                  {"snapshot", c.snapshot}}},
                                {"instruments", instruments}};
  if (c.local_probes)
    description["probes"] = {
        {"unit", d.probes.unit},
        {"law", d.probes.law == ProbeLaw::half_square ? "half_square" : "identity"}};
  return description;
}

namespace {

struct EpochTally {
  // `settles` counts phases (a homeostat's hold once, however many rounds it took);
  // `device_settles` counts every settle asked of the device: the training's device queries.
  std::size_t samples = 0, errors = 0, settles = 0, unconverged = 0, iterations = 0;
  std::size_t homeostat_rounds = 0, device_settles = 0;
  double cost = 0.0, seconds = 0.0, settle_seconds = 0.0;
  void add(const PhaseRecord& p) {
    ++settles;
    unconverged += !p.converged;
    iterations += p.settle.iterations;
    if (p.held) homeostat_rounds += p.rounds;
    settle_seconds += p.settle.seconds;
  }
  nlohmann::json to_json() const {
    return {{"samples", samples},
            {"errors", errors},
            {"settles", settles},
            {"device_settles", device_settles},
            {"unconverged", unconverged},
            {"iterations", iterations},
            {"homeostat_rounds", homeostat_rounds},
            {"cost", cost},
            {"seconds", seconds},
            {"settle_seconds", settle_seconds}};
  }
  static EpochTally from_json(const nlohmann::json& j) {
    EpochTally t;
    t.samples = j.at("samples");
    t.errors = j.at("errors");
    t.settles = j.at("settles");
    t.unconverged = j.at("unconverged");
    t.iterations = j.at("iterations");
    t.homeostat_rounds = j.at("homeostat_rounds");
    t.device_settles = j.value("device_settles", std::size_t{0});  // absent before it was kept
    t.cost = j.at("cost");
    t.seconds = j.at("seconds");
    t.settle_seconds = j.at("settle_seconds");
    return t;
  }
};

using Clock = std::chrono::steady_clock;

// CPU time of the whole process (every thread), so a bench's instrument threads count too.
double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// JSON has no NaN or infinity: a non-finite measurement is recorded as null.
std::string num(double v) {
  return std::isfinite(v) ? fmt::format("{}", v) : "null";
}

void append_settle(std::string& out, const PhaseRecord& p) {
  out += fmt::format(
      R"("beta":{},"iterations":{},"seconds":{},"residual":{},"converged":{},"rounds":{})",
      num(p.beta), p.settle.iterations, num(p.settle.seconds), num(p.settle.residual), p.converged,
      p.rounds);
}

// Root mean square of each parameter group (of `a - b` when `b` is given).
std::vector<double> group_rms(const DeviceDescription& d, const std::vector<double>& a,
                              const std::vector<double>* b = nullptr) {
  std::vector<double> out;
  std::size_t at = 0;
  for (const auto& g : d.parameters) {
    double sum = 0.0;
    for (std::size_t i = at; i < at + g.channels.count; ++i) {
      const double v = b ? a[i] - (*b)[i] : a[i];
      sum += v * v;
    }
    out.push_back(g.channels.count ? std::sqrt(sum / double(g.channels.count)) : 0.0);
    at += g.channels.count;
  }
  return out;
}

// One run (or one resumed segment of a run) of the `train` job.
class Run {
 public:
  Run(const TrainerSettings& settings, const SessionSettings& ss, Device& device, const Split& data,
      Session& session)
      : settings_(settings),
        ss_(ss),
        device_(device),
        d_(device.describe()),
        session_(session),
        store_(session.dir(), ss.checkpoint_keep),
        train_(data.train),
        test_(data.test),
        readback_(d_.capabilities.parameter_readback) {
    // Targets are the one-hot code over the device's outputs (a device may have spare outputs).
    train_.classes = test_.classes = d_.outputs.count;
  }

  RunResult go(bool resume);

 private:
  std::vector<std::string> metric_columns() const;
  void begin(bool resume);
  void train_epochs();
  void finish_epoch();
  void checkpoint(const char* why);
  bool checkpoint_due() const;
  void restore(const Checkpoint& c);
  void log_step(const StepReport& step, std::size_t n);
  void on_phase(const PhaseRecord& p);
  std::vector<double> read_parameters() {
    std::vector<double> theta(d_.parameter_count());
    device_.read_parameters(theta);
    return theta;
  }

  const TrainerSettings& settings_;
  const SessionSettings& ss_;
  Device& device_;
  const DeviceDescription& d_;
  Session& session_;
  CheckpointStore store_;
  Dataset train_, test_;
  const bool readback_;

  std::unique_ptr<Homeostat> homeostat_;
  std::unique_ptr<Trainer> trainer_;
  std::unique_ptr<MetricsTable> metrics_;

  // Where the run stands: all of it goes into a checkpoint.
  std::mt19937_64 rng_;
  std::vector<std::size_t> order_;
  std::size_t epochs_done_ = 0, position_ = 0, steps_ = 0, trained_ = 0, segments_ = 1;
  double train_seconds_ = 0.0, wall_before_ = 0.0;
  double train_cpu_seconds_ = 0.0;  // process CPU during steps: what orchestration costs
  // This segment's time spent keeping the record: step and phase lines (inside the training
  // loop's time), checkpoints (outside it).
  double log_seconds_ = 0.0, checkpoint_seconds_ = 0.0;
  EpochTally tally_;
  // Device queries of the training steps: in all, and per completed epoch (for the summary).
  std::size_t device_settles_ = 0;
  std::vector<std::size_t> epoch_device_settles_;
  Evaluation last_test_;
  bool have_test_ = false;
  std::vector<double> epoch_start_;
  std::uint64_t next_sequence_ = 0, last_sequence_ = 0;

  Clock::time_point segment_t0_ = Clock::now(), last_checkpoint_t_ = Clock::now();
  std::size_t steps_since_checkpoint_ = 0, epochs_this_segment_ = 0;
  std::size_t batch_n_ = 0;
  std::vector<double> step_params_, outputs_;
  std::string line_;
  Progress progress_;
};

std::vector<std::string> Run::metric_columns() const {
  std::vector<std::string> c = {
      "epoch",           "samples_seen",        "train_error_running",    "train_cost_running",
      "test_error",      "test_cost",           "samples_per_second",     "epoch_seconds",
      "settles",         "settles_unconverged", "settle_iterations_mean", "settle_seconds",
      "homeostat_rounds"};
  for (const auto& g : d_.parameters) c.push_back("compliance_" + g.channels.name);
  if (readback_) {
    for (const auto& g : d_.parameters) c.push_back("rms_" + g.channels.name);
    for (const auto& g : d_.parameters) c.push_back("change_rms_" + g.channels.name);
  }
  // Added after the columns above so that readers of older sessions' tables keep working.
  c.push_back("device_settles");
  c.push_back("device_settles_total");
  return c;
}

void Run::restore(const Checkpoint& c) {
  const auto& p = c.progress;
  if (d_.capabilities.snapshot) {
    if (c.device_snapshot.empty())
      throw DataError(
          fmt::format("checkpoint {}: no device snapshot for {}", c.sequence, d_.model));
    std::istringstream in(c.device_snapshot);
    device_.restore_snapshot(in);
  } else {
    // Hardware: bring back what the orchestrator owns (compliances, knobs, settable parameters);
    // the homeostat then holds the checkpoint's parameters.
    const auto& eps = p.at("compliance");
    if (d_.capabilities.adjustable_compliance)
      for (std::size_t g = 0; g < d_.parameters.size(); ++g)
        device_.set_compliance(g, eps.at(g).get<double>());
    if (!c.knobs.empty()) device_.set_knobs(c.knobs);
    if (d_.capabilities.settable_parameters && !c.parameters.empty())
      device_.write_parameters(c.parameters);
  }
  if (c.order.size() != train_.size())
    throw DataError(fmt::format("checkpoint {}: its sample order has {} entries for {} samples",
                                c.sequence, c.order.size(), train_.size()));
  order_.assign(c.order.begin(), c.order.end());
  epochs_done_ = p.at("epochs_done");
  position_ = p.at("position");
  steps_ = p.at("steps");
  trained_ = p.at("trained");
  segments_ = p.at("segments").get<std::size_t>() + 1;
  train_seconds_ = p.at("train_seconds");
  train_cpu_seconds_ = p.value("train_cpu_seconds", 0.0);
  log_seconds_ = p.value("log_seconds", 0.0);
  checkpoint_seconds_ = p.value("checkpoint_seconds", 0.0);
  wall_before_ = p.at("wall_seconds");
  tally_ = EpochTally::from_json(p.at("tally"));
  device_settles_ = p.value("device_settles", std::size_t{0});
  epoch_device_settles_ = p.value("epoch_device_settles", std::vector<std::size_t>{});
  have_test_ = p.at("have_test");
  last_test_.errors = p.at("test_errors");
  last_test_.samples = p.at("test_samples");
  last_test_.cost = p.at("test_cost");
  std::istringstream rng_state(p.at("rng").get<std::string>());
  rng_state >> rng_;
  if (!rng_state) throw DataError(fmt::format("checkpoint {}: damaged RNG state", c.sequence));
  epoch_start_ = c.epoch_start_parameters;
  if (position_ > train_.size() || epochs_done_ > settings_.epochs)
    throw DataError(fmt::format("checkpoint {}: epoch {} position {} does not fit this run",
                                c.sequence, epochs_done_ + 1, position_));
  homeostat_->restore_memory(c.homeostat_memory);
}

void Run::begin(bool resume) {
  homeostat_ = make_trainer_homeostat(settings_, device_);
  const auto columns = metric_columns();
  std::optional<Checkpoint> c;
  if (resume) {
    std::vector<std::string> warnings;
    c = store_.load_latest(warnings);
    for (const auto& w : warnings) spdlog::warn("{}", w);
  }
  if (!c) {
    // From the beginning: a new run, or one stopped before its first checkpoint (checkpoint 0
    // is written before any training, so nothing was trained and nothing is lost).
    rng_.seed(settings_.seed);
    order_.resize(train_.size());
    std::iota(order_.begin(), order_.end(), std::size_t{0});
    trainer_ = make_trainer(settings_, device_, *homeostat_);
    metrics_ = std::make_unique<MetricsTable>(session_.dir() / "metrics.csv", columns, 0);
    if (session_.event_lines() == 0) {
      session_.event("run_start", {{"device", d_.model},
                                   {"algorithm", trainer_->algorithm()},
                                   {"train_samples", train_.size()},
                                   {"test_samples", test_.size()},
                                   {"epochs", settings_.epochs},
                                   {"batch_size", settings_.batch_size},
                                   {"seed", settings_.seed},
                                   {"detail", ss_.detail == Detail::off     ? "off"
                                              : ss_.detail == Detail::epoch ? "epoch"
                                              : ss_.detail == Detail::step  ? "step"
                                                                            : "phase"}});
    } else {
      spdlog::warn("{}: no checkpoint yet; the run starts over from its beginning",
                   store_.folder().string());
      session_.event("resume", {{"checkpoint", nullptr},
                                {"epoch", 1},
                                {"position", 0},
                                {"superseded_after_line", 1},
                                {"dropped_partial_line_bytes", session_.dropped_bytes()}});
    }
    // Checkpoint 0, the starting point: a run killed before its first periodic checkpoint still
    // resumes, and a folder that cannot hold a checkpoint is found out before any training.
    checkpoint("start");
    return;
  }
  restore(*c);
  trainer_ = make_trainer(settings_, device_, *homeostat_);
  if (!c->parameters.empty()) trainer_->resume_target(c->parameters);
  trainer_->resume_progress(steps_, epochs_done_);
  metrics_ = std::make_unique<MetricsTable>(session_.dir() / "metrics.csv", columns,
                                            c->progress.at("metrics_bytes").get<std::size_t>());
  next_sequence_ = c->sequence + 1;
  last_sequence_ = c->sequence;
  // A power cut can take log lines that were not yet on the disk when the checkpoint was.
  const std::size_t superseded =
      std::min(c->progress.at("events_lines").get<std::size_t>(), session_.event_lines());
  session_.event("resume", {{"checkpoint", c->sequence},
                            {"epoch", epochs_done_ + 1},
                            {"position", position_},
                            {"superseded_after_line", superseded},
                            {"dropped_partial_line_bytes", session_.dropped_bytes()}});
  if (session_.dropped_bytes())
    spdlog::warn("{}: dropped a partial last line of {} bytes left by the interruption",
                 (session_.dir() / "events.jsonl").string(), session_.dropped_bytes());
  spdlog::info("resuming from checkpoint {}: epoch {}, sample {} of {}", c->sequence,
               epochs_done_ + 1, position_, train_.size());
}

void Run::checkpoint(const char* why) {
  const auto t0 = Clock::now();
  Checkpoint c;
  c.sequence = next_sequence_;
  std::ostringstream rng_state;
  rng_state << rng_;
  nlohmann::json eps = nlohmann::json::array();
  for (const auto& g : d_.parameters) eps.push_back(g.compliance);
  metrics_->sync();
  // The checkpoint event will be the log's next line; a resumed run redoes what follows it.
  c.progress = {{"epochs_done", epochs_done_},
                {"position", position_},
                {"steps", steps_},
                {"trained", trained_},
                {"segments", segments_},
                {"log_seconds", log_seconds_},
                {"checkpoint_seconds", checkpoint_seconds_},
                {"train_seconds", train_seconds_},
                {"train_cpu_seconds", train_cpu_seconds_},
                {"wall_seconds", wall_before_ + seconds_since(segment_t0_)},
                {"tally", tally_.to_json()},
                {"device_settles", device_settles_},
                {"epoch_device_settles", epoch_device_settles_},
                {"have_test", have_test_},
                {"test_errors", last_test_.errors},
                {"test_samples", last_test_.samples},
                {"test_cost", last_test_.cost},
                {"rng", rng_state.str()},
                {"compliance", eps},
                {"events_lines", session_.event_lines() + 1},
                {"metrics_bytes", metrics_->bytes()}};
  // Where the homeostat holds the parameters, when it is told: after an evaluation the measured
  // values sit within its tolerance of that target, and a resumed run must hold the target itself.
  // A rule that sets the parameters keeps them itself, unrounded: they are the run's state.
  if (trainer_->sets_parameters())
    c.parameters = trainer_->parameter_target();
  else if (readback_)
    c.parameters = homeostat_->needs_target() ? trainer_->parameter_target() : read_parameters();
  // A checkpoint is a point to come back to: never one with a parameter gone to NaN or infinity.
  std::size_t at = 0;
  for (const auto& g : d_.parameters) {
    for (std::size_t i = at; i < at + g.channels.count && i < c.parameters.size(); ++i)
      if (!std::isfinite(c.parameters[i]))
        throw DeviceError(
            fmt::format("{}: parameter {}[{}] is {}; the run stops at the last good "
                        "checkpoint ({})",
                        d_.model, g.channels.name, i - at, c.parameters[i], last_sequence_));
    at += g.channels.count;
  }
  if (d_.capabilities.snapshot) {
    std::ostringstream snap;
    device_.save_snapshot(snap);
    c.device_snapshot = std::move(snap).str();
  } else if (d_.knob_count() > 0) {  // a device whose parameters are set may have no knobs
    c.knobs.resize(d_.knob_count());
    device_.read_knobs(c.knobs);
  }
  c.homeostat_memory = homeostat_->memory();
  if (position_ > 0) c.epoch_start_parameters = epoch_start_;
  c.order.assign(order_.begin(), order_.end());
  store_.save(c);
  last_sequence_ = c.sequence;
  ++next_sequence_;
  steps_since_checkpoint_ = 0;
  last_checkpoint_t_ = Clock::now();
  session_.event("checkpoint", {{"sequence", c.sequence},
                                {"why", why},
                                {"epoch", epochs_done_ + 1},
                                {"position", position_},
                                {"seconds", seconds_since(t0)}});
  session_.sync();
  checkpoint_seconds_ += seconds_since(t0);
}

bool Run::checkpoint_due() const {
  return (ss_.checkpoint_every_steps && steps_since_checkpoint_ >= ss_.checkpoint_every_steps) ||
         (ss_.checkpoint_every_seconds > 0 &&
          seconds_since(last_checkpoint_t_) >= ss_.checkpoint_every_seconds);
}

void Run::on_phase(const PhaseRecord& p) {
  const auto log_t0 = Clock::now();
  outputs_.resize(batch_n_ * d_.outputs.count);
  device_.read_outputs(outputs_);
  line_ = fmt::format(R"({{"event":"phase","time":"{}","epoch":{},"step":{},"phase":"{}",)",
                      Session::utc_now(), epochs_done_ + 1, steps_ + 1, p.phase);
  append_settle(line_, p);
  line_ += R"(,"outputs":[)";
  for (std::size_t r = 0; r < batch_n_; ++r) {
    line_ += r ? ",[" : "[";
    for (std::size_t o = 0; o < d_.outputs.count; ++o) {
      if (o) line_ += ',';
      line_ += num(outputs_[r * d_.outputs.count + o]);
    }
    line_ += "]";
  }
  line_ += "]}";
  session_.event_line(line_);
  log_seconds_ += seconds_since(log_t0);
}

void Run::log_step(const StepReport& step, std::size_t n) {
  line_ =
      fmt::format(R"({{"event":"step","time":"{}","epoch":{},"step":{},"position":{},"samples":{})",
                  Session::utc_now(), epochs_done_ + 1, steps_, position_, n);
  if (step.scored) line_ += fmt::format(R"(,"errors":{},"cost":{})", step.errors, num(step.cost));
  line_ += R"(,"phases":{)";
  for (std::size_t i = 0; i < step.phases.size(); ++i) {
    line_ += fmt::format(R"({}"{}":{{)", i ? "," : "", step.phases[i].phase);
    append_settle(line_, step.phases[i]);
    line_ += "}";
  }
  line_ += fmt::format(R"(}},"settles":{})", step.settles);
  if (ss_.detail >= Detail::phase && readback_) {
    // How far each parameter group moved in this step (the SGD step the physics made).
    auto now = read_parameters();
    if (step_params_.size() == now.size()) {
      const auto change = group_rms(d_, now, &step_params_);
      line_ += R"(,"parameter_change_rms":{)";
      for (std::size_t g = 0; g < change.size(); ++g)
        line_ += fmt::format(R"({}"{}":{})", g ? "," : "", d_.parameters[g].channels.name,
                             num(change[g]));
      line_ += "}";
    }
    step_params_ = std::move(now);
  }
  line_ += "}";
  session_.event_line(line_);
}

void Run::train_epochs() {
  std::vector<double> x, t;
  std::vector<int> labels;
  if (ss_.detail >= Detail::phase) {
    trainer_->observe_phases([this](const PhaseRecord& p) { on_phase(p); });
    if (readback_) step_params_ = read_parameters();
  }
  while (epochs_done_ < settings_.epochs) {
    const std::size_t epoch = epochs_done_ + 1;
    if (position_ == 0) {
      if (settings_.shuffle) std::shuffle(order_.begin(), order_.end(), rng_);
      tally_ = {};
      if (readback_) epoch_start_ = read_parameters();
    }
    progress_.start(fmt::format("epoch {}/{}", epoch, settings_.epochs), train_.size());
    auto step_t0 = Clock::now();
    double step_cpu0 = process_cpu_seconds();
    while (position_ < train_.size()) {
      const std::size_t n = std::min(settings_.batch_size, train_.size() - position_);
      const std::span<const std::size_t> rows(order_.data() + position_, n);
      gather_batch(train_, rows, x, t);
      labels.resize(n);
      for (std::size_t i = 0; i < n; ++i) labels[i] = train_.labels[rows[i]];
      batch_n_ = n;
      const StepReport step = trainer_->step(x, t, labels, n);
      tally_.samples += n;
      tally_.errors += step.errors;
      tally_.cost += step.cost;
      for (const auto& phase : step.phases) tally_.add(phase);
      tally_.device_settles += step.settles;
      device_settles_ += step.settles;
      position_ += n;
      trained_ += n;
      ++steps_;
      ++steps_since_checkpoint_;
      if (ss_.detail >= Detail::step) {
        const auto log_t0 = Clock::now();
        log_step(step, n);
        log_seconds_ += seconds_since(log_t0);
      }
      const double dt = seconds_since(step_t0);
      tally_.seconds += dt;
      train_seconds_ += dt;
      train_cpu_seconds_ += process_cpu_seconds() - step_cpu0;
      progress_.update(tally_.samples,
                       fmt::format("{:.0f} samples/s", double(tally_.samples) / tally_.seconds));
      if (stop_requested()) {
        progress_.finish();
        checkpoint("stop");
        return;
      }
      if (checkpoint_due()) checkpoint("periodic");
      step_t0 = Clock::now();
      step_cpu0 = process_cpu_seconds();
    }
    progress_.finish();
    finish_epoch();
    if (stop_requested()) {
      if (steps_since_checkpoint_ > 0) checkpoint("stop");  // unless the epoch's end just took one
      return;
    }
  }
}

void Run::finish_epoch() {
  const std::size_t epoch = epochs_done_ + 1;
  std::vector<double> eps;
  for (const auto& g : d_.parameters) eps.push_back(g.compliance);
  trainer_->end_epoch();
  last_test_ = evaluate(device_, trainer_->homeostat(), trainer_->parameter_target(), test_);
  have_test_ = true;
  epochs_done_ = epoch;
  position_ = 0;

  const EpochTally& tl = tally_;
  const double train_err = tl.samples ? double(tl.errors) / double(tl.samples) : 0.0;
  const double train_cost = tl.samples ? tl.cost / double(tl.samples) : 0.0;
  const double rate = tl.seconds > 0 ? double(tl.samples) / tl.seconds : 0.0;
  const double mean_iter = tl.settles ? double(tl.iterations) / double(tl.settles) : 0.0;
  const double nan = std::nan("");
  std::vector<double> row = {double(epoch),
                             double(trained_),
                             settings_.score_batches ? train_err : nan,
                             settings_.score_batches ? train_cost : nan,
                             last_test_.error_rate(),
                             last_test_.cost,
                             rate,
                             tl.seconds,
                             double(tl.settles),
                             double(tl.unconverged),
                             mean_iter,
                             tl.settle_seconds,
                             double(tl.homeostat_rounds)};
  row.insert(row.end(), eps.begin(), eps.end());
  epoch_device_settles_.push_back(tl.device_settles);
  if (readback_) {
    const auto now = read_parameters();
    const auto rms = group_rms(d_, now);
    row.insert(row.end(), rms.begin(), rms.end());
    if (epoch_start_.size() == now.size()) {
      const auto change = group_rms(d_, now, &epoch_start_);
      row.insert(row.end(), change.begin(), change.end());
    } else {
      row.insert(row.end(), d_.parameters.size(), nan);
    }
  }
  row.push_back(double(tl.device_settles));
  row.push_back(double(device_settles_));
  metrics_->add_row(row);

  const std::string running = settings_.score_batches
                                  ? fmt::format("train error {:.2f}% (running), ", 100 * train_err)
                                  : "";
  // What is left, at this segment's pace so far (evaluations and checkpoints included): an
  // overnight run's first question.
  ++epochs_this_segment_;
  const double per_epoch = seconds_since(segment_t0_) / double(epochs_this_segment_);
  const double left = per_epoch * double(settings_.epochs - epoch);
  const long secs = std::lround(left);
  std::string eta;
  if (epoch < settings_.epochs)
    eta = secs >= 3600 ? fmt::format(", about {}h{:02d}m left", secs / 3600, secs / 60 % 60)
          : secs >= 60 ? fmt::format(", about {}m{:02d}s left", secs / 60, secs % 60)
                       : fmt::format(", about {}s left", secs);
  spdlog::info(
      "epoch {}/{}: {}test error {:.2f}%, {:.0f} samples/s, {} of {} settles unconverged{}", epoch,
      settings_.epochs, running, 100 * last_test_.error_rate(), rate, tl.unconverged, tl.settles,
      eta);
  if (tl.unconverged * 10 > tl.settles)
    spdlog::warn(
        "epoch {}: {} of {} settles did not reach equilibrium; the steps are not the gradient "
        "steps they should be (raise max_iterations or lower the compliance)",
        epoch, tl.unconverged, tl.settles);
  if (ss_.detail >= Detail::epoch) {
    nlohmann::json fields = {{"epoch", epoch},
                             {"test_error", last_test_.error_rate()},
                             {"test_cost", last_test_.cost},
                             {"samples", tl.samples},
                             {"seconds", tl.seconds},
                             {"samples_per_second", rate},
                             {"settles", tl.settles},
                             {"settles_unconverged", tl.unconverged},
                             {"settle_iterations_mean", mean_iter},
                             {"homeostat_rounds", tl.homeostat_rounds},
                             {"settle_seconds", tl.settle_seconds},
                             {"device_settles", tl.device_settles},
                             {"device_settles_total", device_settles_}};
    if (settings_.score_batches) {
      fields["train_error_running"] = train_err;
      fields["train_cost_running"] = train_cost;
    }
    session_.event("epoch", std::move(fields));
  }
  tally_ = {};
  if (ss_.checkpoint_every_epochs && epoch % ss_.checkpoint_every_epochs == 0)
    checkpoint("epoch");
  else if (checkpoint_due())
    checkpoint("periodic");
}

RunResult Run::go(bool resume) {
  std::string status = "completed", reason;
  std::string safe_state = "not reached";
  // A second interrupt while the run is blocked in a device call: safe state from outside.
  EmergencyStop emergency(
      [this] {
        std::string outcome = "reached (emergency stop)";
        try {
          device_.safe_state();
        } catch (const std::exception& e) {
          outcome = std::string("failed: ") + e.what();
        }
        try {
          session_.event("run_stop", {{"status", "aborted"},
                                      {"reason",
                                       "second interrupt; the run did not answer in time, so the "
                                       "emergency stop brought the device to its safe state"},
                                      {"safe_state", outcome},
                                      {"last_checkpoint", last_sequence_}});
          session_.sync();
        } catch (...) {
        }
        spdlog::error("emergency stop: safe state {}; resume from checkpoint {}", outcome,
                      last_sequence_);
      },
      std::chrono::milliseconds(2000));

  try {
    begin(resume);
    train_epochs();
    if (stop_requested() && epochs_done_ < settings_.epochs) {
      status = "aborted";
      reason = fmt::format("signal {} during epoch {}; resume continues from checkpoint {}",
                           stop_signal(), epochs_done_ + 1, last_sequence_);
    }
  } catch (const Interrupted&) {
    progress_.finish();
    status = "aborted";
    reason = fmt::format(
        "second interrupt during epoch {}, step {}; that step was abandoned, resume continues "
        "from checkpoint {}",
        epochs_done_ + 1, steps_ + 1, last_sequence_);
  } catch (const std::exception& e) {
    progress_.finish();
    status = "failed";
    reason = e.what();
    spdlog::error("training stopped: {}", reason);
  }

  // A completed run is measured before its safe state: on a bench, safe state changes the
  // circuit (inputs off, homeostat released), and the final figures must be the trained ones.
  // A failed or stopped run goes to its safe state first: safety before records.
  std::optional<Evaluation> final_train;
  std::optional<std::vector<double>> final_theta;
  if (status == "completed" && epochs_done_ > 0 && trainer_) {
    try {
      final_train = evaluate(device_, trainer_->homeostat(), trainer_->parameter_target(), train_);
      if (readback_) final_theta = read_parameters();
    } catch (const std::exception& e) {
      status = dynamic_cast<const Interrupted*>(&e) ? "aborted" : "failed";
      reason = fmt::format("final evaluation: {}", e.what());
    }
  }
  try {
    emergency.reaching_safe_state();
    device_.safe_state();
    safe_state = "reached";
  } catch (const std::exception& e) {
    spdlog::error("could not bring {} to its safe state: {}", d_.model, e.what());
    safe_state = std::string("failed: ") + e.what();
    if (status == "completed") status = "failed";
    reason += (reason.empty() ? "" : "; ") + std::string("safe state failed: ") + e.what();
  }
  emergency.disarm();

  nlohmann::json summary = {
      {"status", status},
      {"device", d_.model},
      {"epochs", epochs_done_},
      {"steps", steps_},
      {"train_samples_processed", trained_},
      {"samples_per_second", train_seconds_ > 0 ? double(trained_) / train_seconds_ : 0.0},
      {"train_seconds", train_seconds_},
      {"train_cpu_seconds", train_cpu_seconds_},
      {"segments", segments_},
      {"last_checkpoint", last_sequence_},
      {"algorithm", settings_.algorithm},
      // Device queries of the training steps (evaluations not counted): the figure to compare
      // rules by, with the test error reached.
      {"device_settles", device_settles_},
      {"device_settles_per_epoch", epoch_device_settles_}};
  std::vector<std::string> write_errors;
  if (final_train) {
    // Both errors with the final parameters, so they are comparable with each other.
    summary["train_error"] = final_train->error_rate();
    summary["train_cost"] = final_train->cost;
  }
  if (have_test_) {
    summary["test_error"] = last_test_.error_rate();
    summary["test_cost"] = last_test_.cost;
  }
  if (readback_ && trainer_) {
    try {
      // Final parameters, float64 little-endian in the device's order, for `aeqlab eval`.
      const auto theta = final_theta ? *final_theta : read_parameters();
      summary["parameters_sha256"] = parameters_sha256(theta);
      const auto file = session_.dir() / "parameters.f64";
      const auto tmp = session_.dir() / "parameters.f64.tmp";
      write_file_durably(
          tmp, {reinterpret_cast<const char*>(theta.data()), theta.size() * sizeof(double)});
      std::filesystem::rename(tmp, file);
      sync_folder(session_.dir());
    } catch (const std::exception& e) {
      write_errors.push_back(e.what());
    }
  }
  try {
    if (metrics_) metrics_->sync();
  } catch (const std::exception& e) {
    write_errors.push_back(e.what());
  }
  if (!write_errors.empty()) {
    // The disk refused part of the record: the run cannot call itself complete. The checkpoints
    // and the log up to here are intact, so it can be resumed once there is room.
    if (status == "completed") status = "failed";
    reason += (reason.empty() ? "" : "; ") + std::string("session record incomplete: ") +
              write_errors.front();
  }
  summary["status"] = status;
  if (!reason.empty()) summary["reason"] = reason;
  summary["log_seconds"] = log_seconds_;
  summary["checkpoint_seconds"] = checkpoint_seconds_;
  summary["wall_seconds"] = wall_before_ + seconds_since(segment_t0_);
  try {
    session_.event("run_stop", {{"status", status},
                                {"reason", reason},
                                {"safe_state", safe_state},
                                {"last_checkpoint", last_sequence_}});
    session_.sync();
  } catch (const std::exception& e) {
    write_errors.push_back(e.what());
  }
  try {
    session_.write_json("summary.json", summary);
  } catch (const std::exception& e) {
    write_errors.push_back(e.what());
  }
  for (const auto& w : write_errors) spdlog::error("session record incomplete: {}", w);
  if (!write_errors.empty() && status == "completed") {
    status = "failed";
    summary["status"] = status;
  }
  return {status, summary};
}

}  // namespace

void check_run(const TrainerSettings& settings, const Device& device, const Split& data) {
  const auto& d = device.describe();
  if (data.train.features != d.inputs.count)
    throw ConfigError(fmt::format("data: {} has {} features but {} has {} inputs", data.train.name,
                                  data.train.features, d.model, d.inputs.count));
  if (data.train.classes > d.outputs.count)
    throw ConfigError(fmt::format("data: {} has {} classes but {} has {} outputs", data.train.name,
                                  data.train.classes, d.model, d.outputs.count));
  if (settings.batch_size > d.replicas)
    throw ConfigError(fmt::format("trainer.batch_size: {} exceeds the {} replicas of {}",
                                  settings.batch_size, d.replicas, d.model));
  require_trainer_supported(settings, d);
  (void)make_trainer_homeostat(settings, device);
}

RunResult run_training(const TrainerSettings& settings, const SessionSettings& session_settings,
                       Device& device, const Split& data, Session& session, bool resume) {
  check_run(settings, device, data);
  Run run(settings, session_settings, device, data, session);
  return run.go(resume);
}

RunResult run_training(const TrainerSettings& settings, Device& device, const Split& data,
                       Session& session) {
  return run_training(settings, SessionSettings{}, device, data, session, false);
}

}  // namespace aeqlab
