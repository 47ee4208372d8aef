#pragma once
// Errors a lab user can act on: each names the culprit (file, key, channel) in its text.

#include <stdexcept>
#include <string>

namespace aeqlab {

struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct DataError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// A value was refused before it reached the system because it lies outside a declared safe range.
struct SafeRangeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// The device cannot do what was asked (a capability it did not declare, a settle that diverged).
struct DeviceError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A second Ctrl-C (or SIGTERM) asked to stop now, in the middle of whatever was going on.
struct Interrupted : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace aeqlab
