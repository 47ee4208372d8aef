#include "core/metrics_sink.hpp"

#include <algorithm>
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
  for (const char* name : {"homeostat_holds", "rounds_per_hold", "hold_error_max", "loop_gain_max"})
    c.push_back(name);
  // The wall clock when the row was written: Unix time (seconds since 1970-01-01 UTC), to the
  // millisecond; the lab's clock beside the run's figures (docs/sessions.md, metrics.csv).
  c.push_back("unix_seconds");
  return c;
}

std::vector<std::string> MetricsSink::recorded_columns(const std::filesystem::path& file,
                                                       const DeviceDescription& device,
                                                       std::size_t keep_bytes) {
  auto all = columns(device);
  if (keep_bytes == 0) return all;
  // A session recorded before some columns existed keeps its header when resumed: the columns
  // added since come after the ones it has, so its header is a prefix of today's.
  // Only as many bytes as today's header holds are read: a damaged file (one endless line) costs
  // nothing more (docs/sessions.md, "Reading a session back").
  std::size_t longest = all.size();
  for (const auto& c : all) longest += c.size();
  std::ifstream in(file, std::ios::binary);
  std::string header(longest + 1, '\0');
  in.read(header.data(), std::streamsize(header.size()));
  header.resize(std::size_t(in.gcount()));
  header.resize(std::min(header.size(), header.find('\n')));
  std::string joined;
  for (std::size_t n = 0; n < all.size(); ++n) {
    if (n) joined += ',';
    joined += all[n];
    if (joined == header) return {all.begin(), all.begin() + std::ptrdiff_t(n + 1)};
  }
  return all;  // today's header, or another run's (which the table refuses)
}

MetricsSink::MetricsSink(const std::filesystem::path& session_dir, const DeviceDescription& device,
                         std::size_t keep_bytes)
    : device_(device),
      columns_(recorded_columns(session_dir / "metrics.csv", device, keep_bytes)),
      table_(session_dir / "metrics.csv", columns_, keep_bytes) {}

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
  row.set(
      "unix_seconds",
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
  MetricsRow recorded;  // the columns this session's table has
  for (const auto& [name, value] : row.values())
    if (std::find(columns_.begin(), columns_.end(), name) != columns_.end())
      recorded.set(name, value);
  table_.add_row(recorded);
}

}  // namespace aeqlab
