#pragma once
// The bench device: the device contract implemented over the instruments of a bench config.
// Values are range-checked against the channel map before anything is written; writes are
// staged and go out together when the system must settle (one message per instrument, all
// instruments at once); large steps are ramped; settle = wait, then poll the outputs until
// they are stable within tolerance; safe state drives every set channel to its safe value.
// The trainer cannot tell it from a simulator, which is the point.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "core/device.hpp"
#include "instruments/bench_config.hpp"

namespace aeqlab::instruments {

class Instrument;
class Crew;

// What the bench did on the wire, for benchmarks and the session log.
struct BenchTally {
  std::size_t flushes = 0;  // times staged writes went out
  std::size_t critical_round_trips =
      0;                        // round trips on the critical path (parallel ones count once)
  std::size_t round_trips = 0;  // all round trips, every instrument
  std::size_t settles = 0;
  std::size_t polls = 0;
  double waited_seconds = 0.0;        // time spent in the settle rule's waits
  std::size_t rewrites = 0;           // set-points written again after a read-back did not verify
  std::size_t rounded_setpoints = 0;  // set-points rounded onto the parts' grid
  std::size_t setpoint_writes = 0;    // elements written to the programmable resistors
  // The parts' per-write time (setpoints.write_us) on the critical path: per flush, the busiest
  // array's elements times the per-write time. The modelled cost of the writes.
  double write_seconds = 0.0;
  // Round trips made while a settle's wait ran (the read-back of write-verify): on the critical
  // path in the count above, but under the settle time T rather than after it.
  std::size_t round_trips_in_settle = 0;
};

class BenchDevice final : public Device {
 public:
  // Connects to every instrument (all at once), asks *IDN?, clears and initialises them. Throws
  // ConfigError for a bad profile, DeviceError naming the instrument for anything on the wire.
  explicit BenchDevice(BenchConfig bench);
  ~BenchDevice() override;

  BenchTally tally() const;
  const BenchConfig& bench() const { return bench_; }

 private:
  // Set roles are staged, and go out at the next flush (a settle or a read), one message per
  // instrument.
  void do_set_inputs(std::span<const double> values, std::size_t active_replicas) override;
  void do_set_nudge(double beta, std::span<const double> targets) override;
  void do_set_knobs(std::span<const double> values) override;
  void do_write_parameters(std::span<const double> values) override;
  void do_set_compliance(std::size_t group, double compliance) override;
  // Reads flush what is staged first; the outputs of the last settle's polls are kept.
  void do_read_knobs(std::span<double> out) override;
  void do_read_parameters(std::span<double> out) override;
  void do_read_outputs(std::span<double> out) override;
  // Local probes: the nodes measured once and differenced, or a channel per element.
  void do_read_probes(std::span<double> out) override;
  // The settle rule: a wait after the last flush, then polls until the outputs agree.
  SettleReport do_settle() override;
  SettleReport do_settle_homeostatic() override;
  std::vector<InstrumentIdentity> do_instruments() const override;
  void do_safe_state(bool beside_a_call) override;

  struct Staged;
  struct RoleState;
  RoleState& state_of(const ChannelRole& role);
  void stage(const ChannelRole& role, std::span<const double> values);
  // `settling`: the flush starts a settle, whose wait runs from the moment the writes landed;
  // write-verify's read-back then runs inside that wait (docs/pot-bench.md, "Step time against the
  // physical limit").
  void flush(bool settling = false);
  // Reads the set-points just written back and writes again those that did not take
  // (instruments/bench_verify.cpp); `settling`: inside a settle's wait, which a rewrite restarts.
  void verify(const std::vector<RoleState*>& written, bool settling);
  // The parameters' set-points onto the parts' grid (`setpoints`), then staged.
  void on_the_grid(std::span<const double> values);
  // Incremental-only parts (instruments/incremental_steps.cpp): positions tracked from power-on.
  bool incremental() const;
  std::ptrdiff_t setpoint_group(const RoleState& s) const;  // -1: not a set-point role
  void start_incremental();
  std::size_t tap_of(std::size_t group, double value) const;  // the part's tap nearest `value`
  // The steps that take `part`'s elements from their tracked taps to `values` (on the grid);
  // DeviceError naming the element for a step past the part's ends.
  // (`offset`: the part's first element in its group).
  std::vector<long> steps_to(std::size_t group, std::size_t offset,
                             std::span<const double> values) const;
  void moved(std::size_t group, std::size_t offset, std::span<const long> steps);
  // Safe state: every element of the role's `part`-th part stepped back to the power-on tap.
  void step_home(RoleState& s, std::size_t part);
  void measure(const ChannelRole& role, std::span<double> out);
  // Several roles read in one scan per instrument (their channel lists joined), `out` holding
  // them one after the other: a feedback homeostat reads every parameter group each round.
  void measure_together(std::span<const ChannelRole> roles, std::span<double> out);
  // A set role's values as its instruments report them, or as last written where they cannot.
  // Several set roles at once (one message per instrument whatever roles it carries).
  void read_back(std::span<const ChannelRole* const> roles, std::span<double> dest,
                 const char* what);
  // Set-points read from the instruments: per instrument, its (channels, destination) pairs,
  // asked for in one query (split only by the profile's max_channels), instruments at once.
  using SetpointReads =
      std::map<std::size_t, std::vector<std::pair<std::span<const int>, std::span<double>>>>;
  void read_setpoints_at_once(const SetpointReads& reads);
  SettleReport settle_with(bool hold);
  std::vector<std::size_t> round_trips_now() const;
  void count_round_trips_since(const std::vector<std::size_t>& before);
  template <class F>
  auto on_the_wire(const char* what, F&& f);

  BenchConfig bench_;
  std::vector<std::unique_ptr<Instrument>> instruments_;
  std::unique_ptr<Crew> crew_;
  std::vector<std::unique_ptr<RoleState>> states_;  // one per set role
  std::vector<double> compliance_;
  std::vector<double> outputs_cache_;
  std::vector<double> nodes_;               // the probe nodes' last reading
  std::vector<std::vector<double>> grids_;  // per set-point group: its taps (siemens)
  bool grid_rounding_logged_ = false;
  std::vector<std::vector<std::size_t>> positions_;  // per set-point group: each element's tap
  bool positions_known_ = true;
  bool outputs_valid_ = false;
  double hold_ = -1.0;  // last hold value written (-1: unknown)
  std::chrono::steady_clock::time_point last_flush_{};
  BenchTally tally_;
};

}  // namespace aeqlab::instruments
