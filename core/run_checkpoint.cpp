// Checkpoints of the run, and resuming from one. See core/run.hpp for the run's other parts.
#include <algorithm>
#include <cmath>
#include <sstream>

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include "core/durable_files.hpp"
#include "core/error.hpp"
#include "core/parameter_restore.hpp"
#include "core/run.hpp"

namespace aeqlab {

Checkpoint Run::capture() {
  Checkpoint c;
  c.sequence = next_sequence_++;
  progress_.compliance = compliances();
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
  if (progress_.position > 0) c.epoch_start_parameters = epoch_start_;
  c.order.assign(order_.begin(), order_.end());
  steps_since_checkpoint_ = 0;
  return c;
}

void Run::add_progress(Checkpoint& c) {
  progress_.wall_seconds = wall_before_ + seconds_since(segment_t0_);
  // The checkpoint event will be the log's next line; a resumed run redoes what follows it.
  progress_.events_lines = session_.event_lines() + 1;
  progress_.metrics_bytes = metrics_->bytes();
  c.progress = to_json(progress_);
}

void Run::checkpointed(const Checkpoint& c, const char* why, Clock::time_point t0,
                       double more_seconds, bool log_synced_by_stop) {
  last_sequence_ = c.sequence;
  last_checkpoint_t_ = Clock::now();
  last_checkpoint_cost_ = more_seconds + seconds_since(t0);
  sinks_.feed(&RunSink::checkpointed, CheckpointReport{.sequence = c.sequence,
                                                       .why = why,
                                                       .epoch = progress_.epochs_done + 1,
                                                       .position = progress_.position,
                                                       .seconds = more_seconds + seconds_since(t0),
                                                       .log_synced_by_stop = log_synced_by_stop});
  progress_.checkpoint_seconds += more_seconds + seconds_since(t0);
}

void Run::checkpoint(const char* why) {
  const auto t0 = Clock::now();
  metrics_->sync();
  Checkpoint c = capture();
  add_progress(c);
  store_.save(c);
  checkpointed(c, why, t0);
}

void Run::try_checkpoint_room() {
  const auto t0 = Clock::now();
  Checkpoint c = capture();
  --next_sequence_;  // a trial: the sequence stays the first real checkpoint's
  add_progress(c);
  store_.try_room(c);
  progress_.checkpoint_seconds += seconds_since(t0);
}

void Run::hold_end_checkpoint() {
  const auto t0 = Clock::now();
  end_checkpoint_ = capture();
  end_capture_seconds_ = seconds_since(t0);
}

std::optional<CheckpointStore::Staged> Run::stage_end_checkpoint(DurableFiles& batch) {
  if (!end_checkpoint_) return std::nullopt;
  const auto t0 = Clock::now();
  add_progress(*end_checkpoint_);
  auto staged = store_.stage(*end_checkpoint_, batch);
  end_capture_seconds_ += seconds_since(t0);
  return staged;
}

void Run::rename_end_checkpoint(const CheckpointStore::Staged& staged) {
  const auto t0 = Clock::now();
  store_.rename_into_place(staged);
  end_capture_seconds_ += seconds_since(t0);
}

void Run::publish_end_checkpoint() {
  const auto t0 = Clock::now();
  sync_folder(store_.folder());
  store_.prune();
  checkpointed(*end_checkpoint_, "epoch", t0, end_capture_seconds_, true);
  end_checkpoint_.reset();
}

bool Run::checkpoint_affordable() const {
  return ss_.checkpoint_max_share <= 0.0 ||
         seconds_since(last_checkpoint_t_) * ss_.checkpoint_max_share >= last_checkpoint_cost_;
}

bool Run::checkpoint_due() const {
  const bool by_steps =
      ss_.checkpoint_every_steps && steps_since_checkpoint_ >= ss_.checkpoint_every_steps;
  const bool by_time = ss_.checkpoint_every_seconds > 0 &&
                       seconds_since(last_checkpoint_t_) >= ss_.checkpoint_every_seconds;
  return (by_steps || by_time) && checkpoint_affordable();
}

void Run::restore_parameters_of(const Checkpoint& c, const std::vector<double>& target,
                                const char* which, bool exactly) {
  // Steps trained again from the target must start from its very bits; else the tolerance will do.
  const RestoreSettings rs{.tolerance = exactly ? 0.0 : ss_.restore_tolerance,
                           .max_rounds = ss_.restore_max_rounds,
                           .gain = settings_.feedback_gain};
  RestoreReport r = restore_parameters(device_, target, rs);
  r.within = r.verified && r.max_distance <= ss_.restore_tolerance;
  if (r.verified && !r.within)
    throw DeviceError(
        fmt::format("{}: cannot bring the device back to checkpoint {}'s {}: {} (tolerance {:.3g}, "
                    "session.restore.tolerance); nothing was trained. Check the bench (wiring, "
                    "ranges, noise) or raise the tolerance",
                    d_.model, c.sequence, which, describe(r), ss_.restore_tolerance));
  if (!r.verified)
    spdlog::warn(
        "{}: cannot read its parameters back, so the resume cannot verify that it holds "
        "checkpoint {}'s parameters",
        d_.model, c.sequence);
  // What the homeostat remembers must be the knobs that now hold the parameters.
  if (!c.homeostat_memory.empty() && d_.knob_count() > 0) {
    std::vector<double> knobs(d_.knob_count());
    device_.read_knobs(knobs);
    restore_knobs_memory_ = std::move(knobs);
  }
  restored_ = r;
}

void Run::restore(const Checkpoint& c) {
  RunProgress p;
  try {
    p = run_progress_from(c.progress);
  } catch (const DataError& e) {
    throw DataError(fmt::format("checkpoint {}: progress.{}", c.sequence, e.what()));
  }
  // Every size and index the checkpoint gives is checked before it is used (a session folder
  // may come from anywhere).
  if (p.compliance.size() != d_.parameters.size())
    throw DataError(fmt::format("checkpoint {}: progress.compliance has {} values for {} groups",
                                c.sequence, p.compliance.size(), d_.parameters.size()));
  if (!c.epoch_start_parameters.empty() && c.epoch_start_parameters.size() != d_.parameter_count())
    throw DataError(fmt::format("checkpoint {}: epoch_start_parameters has {} values for {}",
                                c.sequence, c.epoch_start_parameters.size(), d_.parameter_count()));
  if (!c.knobs.empty() && c.knobs.size() != d_.knob_count())
    throw DataError(fmt::format("checkpoint {}: knobs has {} values for {}", c.sequence,
                                c.knobs.size(), d_.knob_count()));
  for (const auto i : c.order)
    if (i >= train_.size())
      throw DataError(fmt::format("checkpoint {}: its sample order names sample {} of {}",
                                  c.sequence, i, train_.size()));
  if (d_.capabilities.snapshot) {
    if (c.device_snapshot.empty())
      throw DataError(
          fmt::format("checkpoint {}: no device snapshot for {}", c.sequence, d_.model));
    std::istringstream in(c.device_snapshot);
    device_.restore_snapshot(in);
  } else {
    // Hardware: bring back what the orchestrator owns (compliances, knobs, settable parameters);
    // the homeostat then holds the checkpoint's parameters.
    if (d_.capabilities.adjustable_compliance)
      for (std::size_t g = 0; g < d_.parameters.size(); ++g)
        device_.set_compliance(g, p.compliance.at(g));
    if (!c.knobs.empty()) device_.set_knobs(c.knobs);
    // The knobs alone do not put the parameters back: they relax to where the knobs and the
    // system's present state put them, and a fresh instrument (or one power-cycled) sits
    // elsewhere than at the checkpoint. So the parameters are brought back (written where the
    // device can, held by feedback on the knobs) and verified by readback before anything is
    // trained (docs/sessions.md, "Continuing a run").
    if (redo_epoch_steps(c, p))
      restore_parameters_of(c, c.epoch_start_parameters, "parameters at its epoch's start", true);
    else if (!c.parameters.empty())
      restore_parameters_of(c, c.parameters, "parameters");
  }
  if (c.order.size() != train_.size())
    throw DataError(fmt::format("checkpoint {}: its sample order has {} entries for {} samples",
                                c.sequence, c.order.size(), train_.size()));
  order_.assign(c.order.begin(), c.order.end());
  progress_ = std::move(p);
  ++progress_.segments;  // this run is one more
  wall_before_ = progress_.wall_seconds;
  epoch_start_ = c.epoch_start_parameters;
  if (progress_.position > train_.size() || progress_.epochs_done > settings_.epochs)
    throw DataError(fmt::format("checkpoint {}: epoch {} position {} does not fit this run",
                                c.sequence, progress_.epochs_done + 1, progress_.position));
  homeostat_->restore_memory(restore_knobs_memory_.empty() ? c.homeostat_memory
                                                           : std::move(restore_knobs_memory_));
  if (!d_.capabilities.snapshot && progress_.have_test &&
      (progress_.position == 0 || redo_epoch_steps(c, progress_)))
    replay_evaluation_tail(progress_.position == 0 ? c.parameters : c.epoch_start_parameters);
}

// A checkpoint taken within an epoch, on a device without snapshots: its last step left the
// physics' state where no restore can put it back (the state had settled with the parameters
// before that step). So the resume goes back to the epoch's start instead — its parameters
// (kept in the checkpoint), its evaluation's last settles again — and trains the epoch's first
// steps again in the checkpoint's order, untallied and unlogged, which ends on the checkpoint's
// parameters (checked by readback) with the state the uninterrupted run had (redo_steps_to).
// Needs readback, and a rule that leaves the parameters to the physics and keeps no state of its
// own between steps (aeqprop; the others set the parameters, which a resume writes exactly).
bool Run::redo_epoch_steps(const Checkpoint& c, const RunProgress& p) const {
  return !d_.capabilities.snapshot && p.position > 0 && p.have_test && readback_ &&
         !c.epoch_start_parameters.empty() && settings_.algorithm == "aeqprop" &&
         c.order.size() == train_.size();
}

void Run::redo_steps_to(const Checkpoint& c) {
  const std::size_t position = progress_.position;
  const std::size_t batch = std::max<std::size_t>(settings_.batch_size, 1);
  const std::size_t redone = (position + batch - 1) / batch;
  trainer_->resume_progress(progress_.steps - std::min(redone, progress_.steps),
                            progress_.epochs_done);
  trainer_->resume_target(c.epoch_start_parameters);
  std::vector<double> x, t;
  std::vector<int> labels;
  for (std::size_t at = 0; at < position;) {
    const std::size_t n = std::min(batch, position - at);
    const std::span<const std::size_t> rows(order_.data() + at, n);
    gather_batch(train_, rows, x, t);
    labels.resize(n);
    for (std::size_t i = 0; i < n; ++i) labels[i] = train_.labels[rows[i]];
    (void)trainer_->step(x, t, labels, n);
    at += n;
  }
  trainer_->resume_progress(progress_.steps, progress_.epochs_done);
  trainer_->resume_target(c.parameters);
  // Where the steps ended, against the checkpoint's parameters.
  const auto now = read_parameters();
  double worst = 0.0;
  for (std::size_t i = 0; i < now.size() && i < c.parameters.size(); ++i)
    worst = std::max(worst, std::abs(now[i] - c.parameters[i]));
  spdlog::info(
      "{}: epoch {}'s first {} step{} trained again from its start; largest distance "
      "to checkpoint {}'s parameters {:.3g}",
      d_.model, progress_.epochs_done + 1, redone, redone == 1 ? "" : "s", c.sequence, worst);
  if (worst > ss_.restore_tolerance) {
    // The steps did not end where they did before (noise, a drifting bench): the checkpoint's
    // parameters are put back as by any resume.
    restore_parameters_of(c, c.parameters, "parameters");
  }
}

// The physics' own state (a network's neurons) warm-starts every settle and cannot be read or
// written on hardware; after a restore it sits wherever the restore's settles left it, and the
// first settles of the resumed run then stop (at the device's convergence threshold) a little
// elsewhere than the uninterrupted run's, a difference the training amplifies. A checkpoint at
// an epoch's end was taken right after the test evaluation, with the parameters held: doing its
// last settles again, with the same inputs in the same order, brings the state back to where it
// was (each settle shrinks the difference), before anything is trained (docs/sessions.md,
// "Continuing a run").
void Run::replay_evaluation_tail(const std::vector<double>& theta) {
  const std::size_t n = std::min(kReplayedSamples, test_.size());
  if (n == 0 || d_.replicas != 1) return;
  std::vector<double> x, t;
  for (std::size_t row = test_.size() - n; row < test_.size(); ++row) {
    const std::size_t rows[] = {row};
    gather_batch(test_, rows, x, t);
    device_.set_inputs(x, 1);
    device_.set_nudge(0.0, t);
    homeostat_->hold(device_, theta);
  }
  spdlog::info(
      "{}: the last {} test sample{} of epoch {}'s evaluation settled again, so the "
      "device's state is where the checkpoint left it",
      d_.model, n, n == 1 ? "" : "s", progress_.epochs_done);
}

}  // namespace aeqlab
