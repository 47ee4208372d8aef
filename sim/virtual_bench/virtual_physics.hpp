#pragma once
// The physics behind the virtual instruments: the bench's channel map laid onto a Device, with
// the timing a real circuit shows. Set commands only stage values; the device settles once, when
// the circuit would have (settle_s after the last change) or when someone measures before that,
// so a client that writes everything and then reads drives the device with exactly the calls an
// in-process run makes. Readings taken before settle_s ramp from the previous equilibrium to
// the new one; noise and DAC/ADC quantisation are added on top. No I/O and no clock of its own:
// times come in as arguments.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "core/device.hpp"
#include "instruments/bench_config.hpp"
#include "instruments/bench_roles.hpp"
#include "sim/virtual_bench/virtual_bench.hpp"
#include "sim/virtual_bench/virtual_scpi_parser.hpp"

namespace aeqlab::sim {

enum class InstrumentKind { dac, adc, res };

// The served instrument model for a bench profile ("aeqlab-vdac", a path to aeqlab-vdac.json...);
// nullopt when the virtual bench has no such model.
std::optional<InstrumentKind> virtual_instrument_kind(const std::string& profile);
const char* virtual_model_prefix(InstrumentKind kind);  // "VDAC", "VADC", "VRES"

class VirtualPhysics {
 public:
  using Clock = std::chrono::steady_clock;

  // Checks the bench against the device and the served models (ConfigError naming the role,
  // instrument or channel).
  VirtualPhysics(Device& device, const instruments::BenchConfig& bench,
                 const VirtualOptions& options);

  std::size_t instrument_count() const { return instruments_.size(); }
  const std::string& instrument_name(std::size_t i) const { return instruments_[i].name; }
  InstrumentKind instrument_kind(std::size_t i) const { return instruments_[i].kind; }
  // The highest channel the bench maps onto the instrument.
  int instrument_channels(std::size_t i) const { return instruments_[i].channels; }

  // Stages `values` on `channels` of a DAC/VRES. Every value is checked against its role's safe
  // range first: one bad value refuses the whole command (scpi::Error -222).
  void set(std::size_t instrument, std::span<const int> channels, std::span<const double> values,
           Clock::time_point now);
  // What SCPI's MINimum, MAXimum and DEFault mean on each channel of a DAC/VRES: its role's safe
  // range and safe value. An unmapped channel has no range (-224 for MIN/MAX; DEF is 0).
  std::vector<double> keyword_values(std::size_t instrument, std::span<const int> channels,
                                     scpi::NumericKeyword keyword) const;
  // What a DAC/VRES reports as set: a knob's actual value (a homeostat moves knobs), otherwise
  // the last value set.
  std::vector<double> setpoints(std::size_t instrument, std::span<const int> channels);
  // An ADC reading; settles first when changes are pending (scpi::Error -240 if the device
  // failed to take them).
  std::vector<double> measure(std::size_t instrument, std::span<const int> channels,
                              Clock::time_point now);

  // When the physics settles by itself; nullopt when nothing is pending or settle_s is 0 (then
  // it settles when next measured, which no client can tell from instantly).
  std::optional<Clock::time_point> settle_due() const;
  // Settles if due. Returns the device's complaint if it refused the staged values.
  std::optional<std::string> settle_if_due(Clock::time_point now);

  // *RST (virtual_reset.cpp): the device back to its state when the server started (from a
  // snapshot taken then), every set value back to its safe value. False when the device keeps no
  // snapshot, and nothing changed.
  bool reset();
  // How many times reset() has put the physics back (incremental arrays return to power-on).
  std::size_t resets() const { return resets_; }

  void count_message() { ++messages_; }
  WireTally tally() const;

 private:
  struct Role {
    instruments::BenchRole kind = instruments::BenchRole::inputs;
    const instruments::ChannelRole* config = nullptr;
    std::string label;       // for messages: "inputs", "knobs[1]"
    std::size_t offset = 0;  // into the device's flat knob or parameter values
    bool measured = false;
    // Set roles: the value last set (after DAC quantisation), and which were set since the
    // last settle.
    std::vector<double> staged;
    std::vector<char> written;
    bool dirty = false;
    // Measured roles: the equilibrium after the last settle (read lazily), and where the
    // present ramp started.
    std::vector<double> target;
    bool target_valid = false;
    std::vector<double> from;
    bool from_valid = false;
  };
  struct ChannelRef {
    std::size_t role = kUnmapped;
    std::size_t index = 0;
  };
  struct Instrument {
    std::string name;
    InstrumentKind kind = InstrumentKind::dac;
    int channels = 0;
    std::vector<ChannelRef> refs;  // by channel - 1
    std::vector<double> loose;     // values written to unmapped channels
  };
  static constexpr std::size_t kUnmapped = static_cast<std::size_t>(-1);

  void add_role(const instruments::BenchRoleRow& row, const instruments::ChannelRole& role,
                std::string label, std::size_t offset);
  void check_against_device(const instruments::BenchConfig& bench) const;
  void remember_initial_state();  // virtual_reset.cpp
  std::optional<std::string> settle(Clock::time_point now);
  void apply_staged();
  void apply_setpoints();
  // The equilibrium values of the measured roles whose kinds are in `kinds` (a bit per BenchRole).
  void refresh_targets(unsigned kinds);
  double ramp_value(const Role& role, std::size_t i, Clock::time_point now) const;
  double quantise(double v, const SafeRange& range, int bits) const;

  Device& device_;
  VirtualOptions options_;
  std::vector<Role> roles_;
  std::vector<Instrument> instruments_;
  std::size_t homeostat_role_ = kUnmapped;
  std::size_t inputs_role_ = kUnmapped;
  std::optional<instruments::ProbeMap> probe_map_;  // the node form of the probes

  bool dirty_ = false;
  bool changed_ = false;  // any change ever (the ramp needs a start time)
  Clock::time_point changed_at_{};
  std::mt19937_64 rng_;
  std::normal_distribution<double> gauss_{0.0, 1.0};
  std::vector<double> scratch_;
  std::string initial_state_;  // the device's snapshot when the server started (for *RST)

  std::atomic<std::uint64_t> messages_{0}, writes_{0}, values_{0}, out_of_range_{0}, settles_{0};
  std::size_t resets_ = 0;
};

}  // namespace aeqlab::sim
