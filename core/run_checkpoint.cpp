// Checkpoints of the run, and resuming from one. See core/run.hpp for the run's other parts.
#include <cmath>
#include <sstream>

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include "core/error.hpp"
#include "core/parameter_restore.hpp"
#include "core/run.hpp"

namespace aeqlab {

void Run::checkpoint(const char* why) {
  const auto t0 = Clock::now();
  Checkpoint c;
  c.sequence = next_sequence_;
  metrics_->sync();
  progress_.wall_seconds = wall_before_ + seconds_since(segment_t0_);
  progress_.compliance = compliances();
  // The checkpoint event will be the log's next line; a resumed run redoes what follows it.
  progress_.events_lines = session_.event_lines() + 1;
  progress_.metrics_bytes = metrics_->bytes();
  c.progress = to_json(progress_);
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
  store_.save(c);
  last_sequence_ = c.sequence;
  ++next_sequence_;
  steps_since_checkpoint_ = 0;
  last_checkpoint_t_ = Clock::now();
  last_checkpoint_cost_ = seconds_since(t0);
  sinks_.feed(&RunSink::checkpointed, CheckpointReport{.sequence = c.sequence,
                                                       .why = why,
                                                       .epoch = progress_.epochs_done + 1,
                                                       .position = progress_.position,
                                                       .seconds = seconds_since(t0)});
  progress_.checkpoint_seconds += seconds_since(t0);
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

void Run::restore_parameters_of(const Checkpoint& c) {
  const RestoreSettings rs{.tolerance = ss_.restore_tolerance,
                           .max_rounds = ss_.restore_max_rounds,
                           .gain = settings_.feedback_gain};
  RestoreReport r = restore_parameters(device_, c.parameters, rs);
  if (r.verified && !r.within)
    throw DeviceError(fmt::format(
        "{}: cannot bring the device back to checkpoint {}'s parameters: {} (tolerance {:.3g}, "
        "session.restore.tolerance); nothing was trained. Check the bench (wiring, "
        "ranges, noise) or raise the tolerance",
        d_.model, c.sequence, describe(r), ss_.restore_tolerance));
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
    if (!c.parameters.empty()) restore_parameters_of(c);
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
}

}  // namespace aeqlab
