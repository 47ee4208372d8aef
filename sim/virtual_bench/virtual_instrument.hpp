#pragma once
// One virtual instrument: its SCPI command set (a table of header patterns per model, as
// libsigrok keeps per-model command strings out of code paths), its error queue, and the faults
// injected into it. It turns a received message into reply lines; transports are elsewhere.

#include <chrono>
#include <cstddef>
#include <deque>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sim/virtual_bench/virtual_bench.hpp"
#include "sim/virtual_bench/virtual_physics.hpp"
#include "sim/virtual_bench/virtual_scpi_parser.hpp"

namespace aeqlab::sim {

class VirtualInstrument {
 public:
  using Clock = VirtualPhysics::Clock;
  static constexpr std::size_t kErrorQueue = 20;

  VirtualInstrument(std::size_t index, VirtualPhysics& physics, std::vector<VirtualFault> faults);

  const std::string& name() const { return physics_.instrument_name(index_); }
  std::string idn() const;

  // Counts one received message and says which fault, if any, befalls it (nullptr: none).
  // Called in arrival order, whatever connection the message came on.
  const VirtualFault* fault_for_next_message();

  // Carries out every command of `message` in order; returns one line per answered query, each
  // ending "\n". An error in one command is queued and the rest still run; once the replies
  // pass max_reply_bytes the rest of the message is refused (-223).
  // With `writes_fail`, set commands are accepted without error but change nothing: a part that
  // did not take its write (the "no_verify" fault), which only a read-back can tell.
  std::vector<std::string> process(std::string_view message, Clock::time_point now,
                                   bool writes_fail = false,
                                   std::size_t max_reply_bytes = std::size_t{16} << 20);

  void push_error(int code, const std::string& text);

  // A resistor array's per-element write time (the bench's setpoints.write_us): a message that
  // writes n channels is taken n times this after it arrives, before it applies or answers.
  void set_write_seconds(double seconds) { write_seconds_ = seconds; }
  // Incremental-only parts (virtual_steps.cpp, docs/pot-bench.md "Incremental-only parts"):
  // `taps[channel]` is that channel's values (siemens) in the part's tap order; every part sits
  // at `power_on_tap` from the start and after a *RST, and takes SOUR:RES:STEP <n1>,...,(@ch).
  void set_incremental(std::map<int, std::vector<double>> taps, std::size_t power_on_tap);
  // The time `message` keeps the part busy writing (0 for anything that writes nothing).
  double write_seconds(std::string_view message) const;

 private:
  using Params = std::vector<std::string_view>;
  using Handler = void (VirtualInstrument::*)(const Params&, Clock::time_point,
                                              std::vector<std::string>&);
  struct Entry {
    scpi::HeaderPattern pattern;
    bool query;
    Handler handler;
  };

  void add(std::string_view pattern, bool query, Handler handler);
  void run_command(std::string_view text, Clock::time_point now, std::vector<std::string>& replies);

  // Common commands.
  void idn_query(const Params&, Clock::time_point, std::vector<std::string>&);
  void rst(const Params&, Clock::time_point, std::vector<std::string>&);
  void cls(const Params&, Clock::time_point, std::vector<std::string>&);
  void nothing(const Params&, Clock::time_point, std::vector<std::string>&);
  void opc_query(const Params&, Clock::time_point, std::vector<std::string>&);
  void zero_query(const Params&, Clock::time_point, std::vector<std::string>&);
  void error_query(const Params&, Clock::time_point, std::vector<std::string>&);
  void error_count_query(const Params&, Clock::time_point, std::vector<std::string>&);
  void channels_query(const Params&, Clock::time_point, std::vector<std::string>&);
  // Sources (DAC, resistor array).
  void set_level(const Params&, Clock::time_point, std::vector<std::string>&);
  void set_list(const Params&, Clock::time_point, std::vector<std::string>&);
  void set_block(const Params&, Clock::time_point, std::vector<std::string>&);
  void level_query(const Params&, Clock::time_point, std::vector<std::string>&);
  void level_block_query(const Params&, Clock::time_point, std::vector<std::string>&);
  void step_list(const Params&, Clock::time_point, std::vector<std::string>&);
  void power_on(Clock::time_point now);
  std::size_t steps_in(const scpi::Command& cmd) const;
  // Measurements (ADC).
  void measure_query(const Params&, Clock::time_point, std::vector<std::string>&);
  void measure_block_query(const Params&, Clock::time_point, std::vector<std::string>&);

  std::vector<int> channels(std::string_view text) const;
  // The values a level query asks for: the set-points of `(@list)`, or, for SCPI-99's numeric
  // keywords in a query (`VOLT? MAX,(@list)`, `VOLT? MIN` for every channel), what the keyword
  // stands for on each channel (docs/virtual-bench.md).
  std::vector<double> queried_levels(const Params& p) const;

  std::size_t index_;
  VirtualPhysics& physics_;
  std::vector<VirtualFault> faults_;
  std::size_t received_ = 0;
  bool writes_fail_ = false;
  double write_seconds_ = 0.0;
  std::map<int, std::vector<double>> taps_;  // incremental parts: per channel, value per tap
  std::map<int, long> positions_;
  std::size_t power_on_tap_ = 0;
  std::size_t resets_seen_ = 0;
  std::deque<std::pair<int, std::string>> errors_;
  std::vector<Entry> table_;
};

}  // namespace aeqlab::sim
