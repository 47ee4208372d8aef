// Set-points read back from the instruments (docs/pot-bench.md, "Step time against the physical
// limit"): every role an instrument carries in one query, the instruments at once; what cannot be
// read is what was last written.
#include <algorithm>
#include <cmath>
#include <functional>
#include <map>

#include <spdlog/fmt/fmt.h>

#include "core/error.hpp"
#include "instruments/bench_device.hpp"
#include "instruments/bench_role_state.hpp"
#include "instruments/crew.hpp"
#include "instruments/instrument.hpp"

namespace aeqlab::instruments {

void BenchDevice::read_setpoints_at_once(const SetpointReads& reads) {
  std::vector<std::pair<std::size_t, std::function<void()>>> jobs;
  for (const auto& [i, list] : reads)
    jobs.push_back({i, [this, i = i, &list] {
                      std::vector<int> channels;
                      for (const auto& [c, out] : list)
                        channels.insert(channels.end(), c.begin(), c.end());
                      std::vector<double> values(channels.size());
                      instruments_[i]->read_setpoints(channels, values);
                      std::size_t at = 0;
                      for (const auto& [c, out] : list) {
                        std::copy_n(values.begin() + static_cast<std::ptrdiff_t>(at), c.size(),
                                    out.begin());
                        at += c.size();
                      }
                    }});
  crew_->run(std::move(jobs));
}

void BenchDevice::read_back(std::span<const ChannelRole* const> roles, std::span<double> dest,
                            const char* what) {
  // What the instruments can report is asked for in one go; the rest is what was last written.
  SetpointReads reads;
  std::size_t at = 0;
  for (const ChannelRole* role : roles) {
    auto& s = state_of(*role);
    const auto out = dest.subspan(at, role->group.count);
    at += role->group.count;
    const bool readable = std::all_of(
        s.parts.begin(), s.parts.end(),
        [&](const RoleState::Part& p) { return instruments_[p.instrument]->can_read_setpoints(); });
    if (readable) {
      for (const auto& p : s.parts)
        reads[p.instrument].push_back({p.channels, out.subspan(p.offset, p.channels.size())});
      continue;
    }
    if (std::any_of(s.last.begin(), s.last.end(), [](double v) { return std::isnan(v); }))
      throw DeviceError(
          fmt::format("{}: the {} \"{}\" cannot be read back and have not been set yet",
                      bench_.name, what, role->group.name));
    std::copy(s.last.begin(), s.last.end(), out.begin());
  }
  if (reads.empty()) return;
  const auto before = round_trips_now();
  on_the_wire(fmt::format("reading the {} back", what).c_str(),
              [&] { read_setpoints_at_once(reads); });
  count_round_trips_since(before);
}

void BenchDevice::do_read_knobs(std::span<double> out) {
  flush();
  std::vector<const ChannelRole*> roles;
  for (const auto& k : bench_.knobs) roles.push_back(&k);
  read_back(roles, out, "knobs");
}

void BenchDevice::do_read_parameters(std::span<double> out) {
  flush();
  if (bench_.parameters_from_setpoints) {
    std::vector<const ChannelRole*> roles;
    for (const auto& p : bench_.parameter_setpoints) roles.push_back(&p);
    read_back(roles, out, "parameters");
    return;
  }
  measure_together(bench_.parameters, out);
}

}  // namespace aeqlab::instruments
