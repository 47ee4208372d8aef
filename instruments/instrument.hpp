#pragma once
// One instrument of a bench: an SCPI session plus its profile. It turns "these values on these
// channels" into the fewest commands the profile allows (one value for many channels, a list, a
// binary block) and "read these channels" into a measure query or a scan, so the bench device
// never writes a command string itself.

#include <atomic>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "instruments/bench_config.hpp"
#include "instruments/profile.hpp"

namespace aeqlab::drivers {
class ScpiSession;
}

namespace aeqlab::instruments {

class Instrument {
 public:
  // Opens the transport the config's address names; throws ConnectError/AddressError naming it.
  Instrument(const InstrumentConfig& config, Profile profile);
  ~Instrument();

  const std::string& name() const { return config_.name; }
  const std::string& address() const { return config_.address; }
  const Profile& profile() const { return profile_; }
  const std::string& identity() const { return identity_; }

  // *IDN? (kept), *CLS, then the profile's init commands; warns when the identity does not
  // contain what the profile expects.
  void open();
  // Values on channels (same length). Nothing is range-checked here: the bench device does that
  // before anything reaches an instrument.
  void set(std::span<const int> channels, std::span<const double> values);
  // Up/down steps on incremental-only parts, one signed count per channel, in one message
  // (the profile's source.step); channels with no step are left out.
  bool can_step() const;
  void step(std::span<const int> channels, std::span<const long> steps);
  bool can_read_setpoints() const;
  void read_setpoints(std::span<const int> channels, std::span<double> out);
  void measure(std::span<const int> channels, std::span<double> out);
  void shutdown();
  // Round trips so far (a write with its error check is one; a query is one).
  std::size_t round_trips() const { return round_trips_; }

 private:
  std::string number(double v) const;
  std::vector<double> decode_block(const std::string& payload, std::size_t expected,
                                   const std::string& command) const;
  std::string encode_block(std::span<const double> values) const;
  void write_commands(const std::vector<std::string>& commands);
  InstrumentConfig config_;
  Profile profile_;
  std::unique_ptr<drivers::ScpiSession> scpi_;
  std::string identity_;
  std::vector<int> configured_;  // the scan list last sent with measure.configure
  std::atomic<std::size_t> round_trips_{0};
};

}  // namespace aeqlab::instruments
