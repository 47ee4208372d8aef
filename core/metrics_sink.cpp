#include "core/metrics_sink.hpp"

#include <cmath>

namespace aeqlab {

std::vector<std::string> MetricsSink::columns(const DeviceDescription& d) {
  std::vector<std::string> c = {
      "epoch",           "samples_seen",        "train_error_running",    "train_cost_running",
      "test_error",      "test_cost",           "samples_per_second",     "epoch_seconds",
      "settles",         "settles_unconverged", "settle_iterations_mean", "settle_seconds",
      "homeostat_rounds"};
  for (const auto& g : d.parameters) c.push_back("compliance_" + g.channels.name);
  if (d.capabilities.parameter_readback) {
    for (const auto& g : d.parameters) c.push_back("rms_" + g.channels.name);
    for (const auto& g : d.parameters) c.push_back("change_rms_" + g.channels.name);
  }
  c.push_back("device_settles");
  c.push_back("device_settles_total");
  for (const char* name : {"homeostat_holds", "rounds_per_hold", "hold_error_max", "loop_gain_max"})
    c.push_back(name);
  return c;
}

MetricsSink::MetricsSink(const std::filesystem::path& session_dir, const DeviceDescription& device,
                         std::size_t keep_bytes)
    : device_(device), table_(session_dir / "metrics.csv", columns(device), keep_bytes) {}

void MetricsSink::epoch_ended(const EpochReport& r) {
  const EpochTally& t = r.tally;
  const double nan = std::nan("");  // an empty cell: not measured
  MetricsRow row;
  row.set("epoch", double(r.epoch))
      .set("samples_seen", double(r.trained))
      .set("train_error_running", !r.scored   ? nan
                                  : t.samples ? double(t.errors) / double(t.samples)
                                              : 0.0)
      .set("train_cost_running", !r.scored   ? nan
                                 : t.samples ? t.cost / double(t.samples)
                                             : 0.0)
      .set("test_error", r.test.error_rate())
      .set("test_cost", r.test.cost)
      .set("samples_per_second", t.seconds > 0 ? double(t.samples) / t.seconds : 0.0)
      .set("epoch_seconds", t.seconds)
      .set("settles", double(t.settles))
      .set("settles_unconverged", double(t.unconverged))
      .set("settle_iterations_mean", t.settles ? double(t.iterations) / double(t.settles) : 0.0)
      .set("settle_seconds", t.settle_seconds)
      .set("homeostat_rounds", double(t.homeostat_rounds))
      .set("device_settles", double(t.device_settles))
      .set("device_settles_total", double(r.device_settles_total))
      .set("homeostat_holds", double(t.holds))
      .set("rounds_per_hold", t.holds ? double(t.homeostat_rounds) / double(t.holds) : 0.0)
      .set("hold_error_max", t.hold_error_max)
      .set("loop_gain_max", t.loop_gain_max);
  for (std::size_t g = 0; g < device_.parameters.size(); ++g) {
    const std::string& name = device_.parameters[g].channels.name;
    row.set("compliance_" + name, r.compliance.at(g));
    if (device_.capabilities.parameter_readback) {
      row.set("rms_" + name, r.parameter_rms.at(g));
      row.set("change_rms_" + name, r.parameter_change_rms.at(g));
    }
  }
  table_.add_row(row);
}

}  // namespace aeqlab
