// The run's start and its training loop. See core/run.hpp for the run's other parts.
#include "core/run.hpp"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <numeric>

#include <spdlog/spdlog.h>

#include "core/evaluation.hpp"
#include "core/stop_request.hpp"
#include "core/trainer_factory.hpp"

namespace aeqlab {

namespace {

// CPU time of the whole process (every thread), so a bench's instrument threads count too.
double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

}  // namespace

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::vector<double> group_rms(const DeviceDescription& d, const std::vector<double>& a,
                              const std::vector<double>* b) {
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

Run::Run(const TrainerSettings& settings, const SessionSettings& ss, Device& device,
         const Split& data, Session& session)
    : settings_(settings),
      ss_(ss),
      device_(device),
      d_(device.describe()),
      session_(session),
      store_(session.dir(), ss.checkpoint_keep),
      train_(data.train),
      test_(data.test),
      readback_(d_.capabilities.parameter_readback),
      events_(session, ss.detail, d_),
      console_(session.dir()) {
  // Targets are the one-hot code over the device's outputs (a device may have spare outputs).
  train_.classes = test_.classes = d_.outputs.count;
}

std::vector<double> Run::read_parameters() {
  std::vector<double> theta(d_.parameter_count());
  device_.read_parameters(theta);
  return theta;
}

std::vector<double> Run::compliances() const {
  std::vector<double> eps;
  for (const auto& g : d_.parameters) eps.push_back(g.compliance);
  return eps;
}

void Run::begin(bool resume) {
  homeostat_ = make_trainer_homeostat(settings_, device_);
  std::optional<Checkpoint> c;
  if (resume) {
    std::vector<std::string> warnings;
    // A checkpoint naming more than this run can hold is refused before it is read.
    c = store_.load_latest(warnings,
                           {.parameters = d_.parameter_count(),
                            .knobs = d_.knob_count(),
                            // knobs, a flag per group, the probe's tuning (4)
                            .homeostat_memory = d_.knob_count() + d_.parameters.size() + 4,
                            .order = train_.size()});
    for (const auto& w : warnings) spdlog::warn("{}", w);
  }
  if (!c) {
    // From the beginning: a new run, or one stopped before its first checkpoint (checkpoint 0
    // is written before any training, so nothing was trained and nothing is lost).
    progress_.rng.seed(settings_.seed);
    order_.resize(train_.size());
    std::iota(order_.begin(), order_.end(), std::size_t{0});
    trainer_ = make_trainer(settings_, device_, *homeostat_);
    metrics_ = std::make_unique<MetricsSink>(session_.dir(), d_, 0);
    sinks_.add(*metrics_);
    sinks_.add(console_);
    sinks_.add(events_);
    if (session_.event_lines() == 0) {
      sinks_.feed(&RunSink::started, RunStartReport{.device = d_.model,
                                                    .algorithm = trainer_->algorithm(),
                                                    .train_samples = train_.size(),
                                                    .test_samples = test_.size(),
                                                    .epochs = settings_.epochs,
                                                    .batch_size = settings_.batch_size,
                                                    .seed = settings_.seed,
                                                    .detail = ss_.detail});
    } else {
      sinks_.feed(&RunSink::resumed, ResumeReport{.checkpoint = std::nullopt,
                                                  .epoch = 1,
                                                  .position = 0,
                                                  .train_samples = train_.size(),
                                                  .superseded_after_line = 1,
                                                  .dropped_bytes = session_.dropped_bytes(),
                                                  .restore = std::nullopt,
                                                  .restore_tolerance = 0.0});
    }
    // Checkpoint 0, the starting point: a run killed before its first checkpoint resumes from it.
    // Not needed when the device's start is the config's and the seed's (a simulator built from
    // config.json): a resume with no checkpoint starts over from them, to the same bits. It is
    // still written, unsynced, and removed, so a folder or disk that cannot hold a checkpoint is
    // found before any training (docs/sessions.md, "Checkpoints").
    if (start_reproducible())
      try_checkpoint_room();
    else
      checkpoint("start");
    return;
  }
  restore(*c);
  trainer_ = make_trainer(settings_, device_, *homeostat_);
  if (!c->parameters.empty()) trainer_->resume_target(c->parameters);
  trainer_->resume_progress(progress_.steps, progress_.epochs_done);
  if (redo_epoch_steps(*c, progress_)) redo_steps_to(*c);
  metrics_ = std::make_unique<MetricsSink>(session_.dir(), d_, progress_.metrics_bytes);
  sinks_.add(*metrics_);
  sinks_.add(console_);
  sinks_.add(events_);
  next_sequence_ = c->sequence + 1;
  last_sequence_ = c->sequence;
  // A power cut can take log lines that were not yet on the disk when the checkpoint was.
  sinks_.feed(&RunSink::resumed, ResumeReport{.checkpoint = c->sequence,
                                              .epoch = progress_.epochs_done + 1,
                                              .position = progress_.position,
                                              .train_samples = train_.size(),
                                              .superseded_after_line = std::min(
                                                  progress_.events_lines, session_.event_lines()),
                                              .dropped_bytes = session_.dropped_bytes(),
                                              .restore = restored_,
                                              .restore_tolerance = ss_.restore_tolerance});
}

void Run::on_phase(const PhaseRecord& p) {
  const auto log_t0 = Clock::now();
  outputs_.resize(batch_n_ * d_.outputs.count);
  device_.read_outputs(outputs_);
  sinks_.feed(&RunSink::phase, PhaseReport{.epoch = progress_.epochs_done + 1,
                                           .step = progress_.steps + 1,
                                           .phase = p,
                                           .outputs = outputs_,
                                           .replicas = batch_n_,
                                           .outputs_per_replica = d_.outputs.count});
  progress_.log_seconds += seconds_since(log_t0);
}

void Run::train_step(std::vector<double>& x, std::vector<double>& t, std::vector<int>& labels) {
  RunProgress& p = progress_;
  const auto step_t0 = Clock::now();
  const double step_cpu0 = process_cpu_seconds();
  const std::size_t n = std::min(settings_.batch_size, train_.size() - p.position);
  const std::span<const std::size_t> rows(order_.data() + p.position, n);
  gather_batch(train_, rows, x, t);
  labels.resize(n);
  for (std::size_t i = 0; i < n; ++i) labels[i] = train_.labels[rows[i]];
  batch_n_ = n;
  const StepReport step = trainer_->step(x, t, labels, n);
  p.tally.add(step, n);
  p.device_settles += step.settles;
  p.position += n;
  p.trained += n;
  ++p.steps;
  ++steps_since_checkpoint_;
  const double dt = seconds_since(step_t0);
  p.tally.seconds += dt;
  p.train_seconds += dt;

  // The record of the step: its time counts as the step's (and as the record's).
  const auto log_t0 = Clock::now();
  change_.clear();
  if (ss_.detail >= Detail::phase && readback_) {
    // How far each parameter group moved in this step (the SGD step the physics made).
    auto now = read_parameters();
    if (step_params_.size() == now.size()) change_ = group_rms(d_, now, &step_params_);
    step_params_ = std::move(now);
  }
  sinks_.feed(&RunSink::step, StepLine{.epoch = p.epochs_done + 1,
                                       .step = p.steps,
                                       .position = p.position,
                                       .samples = n,
                                       .report = step,
                                       .parameter_change_rms = change_,
                                       .tally = p.tally});
  const double log = seconds_since(log_t0);
  p.log_seconds += log;
  p.tally.seconds += log;
  p.train_seconds += log;
  p.train_cpu_seconds += process_cpu_seconds() - step_cpu0;
}

void Run::train_epochs() {
  std::vector<double> x, t;
  std::vector<int> labels;
  if (ss_.detail >= Detail::phase) {
    trainer_->observe_phases([this](const PhaseRecord& p) { on_phase(p); });
    if (readback_) step_params_ = read_parameters();
  }
  RunProgress& p = progress_;
  while (p.epochs_done < settings_.epochs) {
    if (p.position == 0) {
      if (settings_.shuffle) std::shuffle(order_.begin(), order_.end(), p.rng);
      p.tally = {};
      if (readback_) epoch_start_ = read_parameters();
    }
    sinks_.epoch_started(p.epochs_done + 1, settings_.epochs, train_.size());
    while (p.position < train_.size()) {
      train_step(x, t, labels);
      if (stop_requested()) {
        sinks_.paused();
        checkpoint("stop");
        return;
      }
      if (checkpoint_due()) checkpoint("periodic");
    }
    sinks_.paused();
    finish_epoch();
    if (stop_requested()) {
      if (steps_since_checkpoint_ > 0) checkpoint("stop");  // unless the epoch's end just took one
      return;
    }
  }
}

bool Run::start_reproducible() const {
  return ss_.checkpoint_max_share > 0 && ss_.start_from_config &&
         (d_.capabilities.snapshot || ss_.start_is_reset);
}

void Run::finish_epoch() {
  RunProgress& p = progress_;
  const std::size_t epoch = p.epochs_done + 1;
  std::vector<double> eps = compliances();  // the epoch's own, before the decay
  trainer_->end_epoch();
  p.last_test = evaluate(device_, trainer_->homeostat(), trainer_->parameter_target(), test_);
  p.have_test = true;
  p.epochs_done = epoch;
  p.position = 0;
  p.epoch_device_settles.push_back(p.tally.device_settles);

  EpochReport report{.epoch = epoch,
                     .epochs = settings_.epochs,
                     .trained = p.trained,
                     .tally = p.tally,
                     .device_settles_total = p.device_settles,
                     .test = p.last_test,
                     .scored = settings_.score_batches,
                     .compliance = std::move(eps)};
  if (readback_) {
    const auto now = read_parameters();
    report.parameter_rms = group_rms(d_, now);
    report.parameter_change_rms = epoch_start_.size() == now.size()
                                      ? group_rms(d_, now, &epoch_start_)
                                      : std::vector<double>(d_.parameters.size(), std::nan(""));
  }
  sinks_.feed(&RunSink::epoch_ended, report);
  p.tally = {};
  // The last epoch's end is a point to extend from; it is written with the run's final files
  // (write_record). Always on a device whose start cannot be made again; where it can, within the
  // budget like the others: a run too short to afford one is trained again to the same bits by
  // the extension (docs/sessions.md, "What checkpoints cost").
  if (epoch == settings_.epochs) {
    if (!start_reproducible() || checkpoint_affordable()) hold_end_checkpoint();
  } else if (ss_.checkpoint_every_epochs && epoch % ss_.checkpoint_every_epochs == 0 &&
             checkpoint_affordable())
    checkpoint("epoch");
  else if (checkpoint_due())
    checkpoint("periodic");
}

}  // namespace aeqlab
