#include "core/event_log_sink.hpp"

#include "core/json_line.hpp"

namespace aeqlab {

void EventLogSink::started(const RunStartReport& r) {
  session_.event("run_start", {{"device", r.device},
                               {"algorithm", r.algorithm},
                               {"train_samples", r.train_samples},
                               {"test_samples", r.test_samples},
                               {"epochs", r.epochs},
                               {"batch_size", r.batch_size},
                               {"seed", r.seed},
                               {"detail", to_string(r.detail)}});
}

void EventLogSink::resumed(const ResumeReport& r) {
  nlohmann::json line = {{"checkpoint", r.checkpoint ? nlohmann::json(*r.checkpoint) : nullptr},
                         {"epoch", r.epoch},
                         {"position", r.position},
                         {"superseded_after_line", r.superseded_after_line},
                         {"dropped_partial_line_bytes", r.dropped_bytes}};
  // On a device without snapshots: how close it was brought to the checkpoint's parameters
  // (docs/sessions.md, "resume").
  if (r.restore && r.restore->verified)
    line["restore"] = {{"max_distance", r.restore->max_distance},
                       {"rms_distance", r.restore->rms_distance},
                       {"worst", r.restore->worst},
                       {"rounds", r.restore->rounds},
                       {"tolerance", r.restore_tolerance},
                       {"written", r.restore->written}};
  session_.event("resume", line);
}

void EventLogSink::append_settle(JsonLine& line, const PhaseRecord& p) const {
  line.field("beta", p.beta)
      .field("iterations", p.settle.iterations)
      .field("seconds", p.settle.seconds)
      .field("residual", p.settle.residual)
      .field("converged", p.converged)
      .field("rounds", p.rounds);
  if (p.held) line.field("hold_error", p.hold_error).field("loop_gain", p.loop_gain);
}

void EventLogSink::phase(const PhaseReport& r) {
  if (detail_ < Detail::phase) return;
  JsonLine line(line_);
  line.field("event", "phase")
      .field("time", Session::utc_now())
      .field("epoch", r.epoch)
      .field("step", r.step)
      .field("phase", r.phase.phase);
  append_settle(line, r.phase);
  line.open_array("outputs");
  for (std::size_t i = 0; i < r.replicas; ++i) {
    line.open_array();
    for (std::size_t o = 0; o < r.outputs_per_replica; ++o)
      line.element(r.outputs[i * r.outputs_per_replica + o]);
    line.close(']');
  }
  line.close(']').end();
  session_.event_line(line_);
}

void EventLogSink::step(const StepLine& r) {
  if (detail_ < Detail::step) return;
  JsonLine line(line_);
  line.field("event", "step")
      .field("time", Session::utc_now())
      .field("epoch", r.epoch)
      .field("step", r.step)
      .field("position", r.position)
      .field("samples", r.samples);
  if (r.report.scored) line.field("errors", r.report.errors).field("cost", r.report.cost);
  line.open_object("phases");
  for (const auto& p : r.report.phases) {
    line.open_object(p.phase);
    append_settle(line, p);
    line.close('}');
  }
  line.close('}').field("settles", r.report.settles);
  if (!r.parameter_change_rms.empty()) {
    line.open_object("parameter_change_rms");
    for (std::size_t g = 0; g < r.parameter_change_rms.size(); ++g)
      line.field(device_.parameters[g].channels.name, r.parameter_change_rms[g]);
    line.close('}');
  }
  line.end();
  session_.event_line(line_);
}

void EventLogSink::epoch_ended(const EpochReport& r) {
  if (detail_ < Detail::epoch) return;
  const EpochTally& t = r.tally;
  nlohmann::json fields = {
      {"epoch", r.epoch},
      {"test_error", r.test.error_rate()},
      {"test_cost", r.test.cost},
      {"samples", t.samples},
      {"seconds", t.seconds},
      {"samples_per_second", t.seconds > 0 ? double(t.samples) / t.seconds : 0.0},
      {"settles", t.settles},
      {"settles_unconverged", t.unconverged},
      {"settle_iterations_mean", t.settles ? double(t.iterations) / double(t.settles) : 0.0},
      {"homeostat_rounds", t.homeostat_rounds},
      {"settle_seconds", t.settle_seconds},
      {"device_settles", t.device_settles},
      {"device_settles_total", r.device_settles_total},
      {"homeostat_holds", t.holds},
      {"rounds_per_hold", t.holds ? double(t.homeostat_rounds) / double(t.holds) : 0.0},
      {"hold_error_max", t.hold_error_max},
      {"loop_gain_max", t.loop_gain_max}};
  if (r.scored) {
    fields["train_error_running"] = t.samples ? double(t.errors) / double(t.samples) : 0.0;
    fields["train_cost_running"] = t.samples ? t.cost / double(t.samples) : 0.0;
  }
  session_.event("epoch", std::move(fields));
}

void EventLogSink::checkpointed(const CheckpointReport& r) {
  session_.event("checkpoint", {{"sequence", r.sequence},
                                {"why", r.why},
                                {"epoch", r.epoch},
                                {"position", r.position},
                                {"seconds", r.seconds}});
  if (!r.log_synced_by_stop) session_.sync();
}

void EventLogSink::stopped(const StopReport& r) {
  session_.event("run_stop", {{"status", to_string(r.status)},
                              {"reason", r.reason},
                              {"safe_state", r.safe_state},
                              {"last_checkpoint", r.last_checkpoint}});
  session_.sync();
}

}  // namespace aeqlab
