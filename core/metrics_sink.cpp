#include "core/metrics_sink.hpp"

#include <chrono>
#include <cmath>
#include <fstream>

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
  // The wall clock when the row was written: Unix time (seconds since 1970-01-01 UTC), to the
  // millisecond; the lab's clock beside the run's figures (docs/sessions.md, metrics.csv).
  c.push_back("unix_seconds");
  return c;
}

bool MetricsSink::has_wall_clock(const std::filesystem::path& file, const DeviceDescription& device,
                                 std::size_t keep_bytes) {
  if (keep_bytes == 0) return true;
  std::ifstream in(file);
  std::string header;
  std::getline(in, header);
  auto legacy = columns(device);
  legacy.pop_back();
  std::string joined;
  for (const auto& c : legacy) {
    if (!joined.empty()) joined += ',';
    joined += c;
  }
  return header != joined;
}

namespace {

std::vector<std::string> columns_of(const DeviceDescription& device, bool wall_clock) {
  auto c = MetricsSink::columns(device);
  if (!wall_clock) c.pop_back();
  return c;
}

}  // namespace

MetricsSink::MetricsSink(const std::filesystem::path& session_dir, const DeviceDescription& device,
                         std::size_t keep_bytes)
    : device_(device),
      wall_clock_(has_wall_clock(session_dir / "metrics.csv", device, keep_bytes)),
      table_(session_dir / "metrics.csv", columns_of(device, wall_clock_), keep_bytes) {}

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
      .set("device_settles_total", double(r.device_settles_total));
  for (std::size_t g = 0; g < device_.parameters.size(); ++g) {
    const std::string& name = device_.parameters[g].channels.name;
    row.set("compliance_" + name, r.compliance.at(g));
    if (device_.capabilities.parameter_readback) {
      row.set("rms_" + name, r.parameter_rms.at(g));
      row.set("change_rms_" + name, r.parameter_change_rms.at(g));
    }
  }
  if (wall_clock_)
    row.set(
        "unix_seconds",
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
  table_.add_row(row);
}

}  // namespace aeqlab
