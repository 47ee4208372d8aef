#pragma once
// Errors a lab user can act on: each names the culprit (file, key, channel) in its text.

#include <stdexcept>
#include <string>

namespace aeqlab {

// The root of every error aeqlab raises on purpose, the drivers' transport errors included: one
// type to catch for "aeqlab refused or failed, and says why", leaving std::exception for the
// rest (bad_alloc, a library's own failure). See docs/architecture.md.
struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct ConfigError : Error {
  using Error::Error;
};
struct DataError : Error {
  using Error::Error;
};
// A value was refused before it reached the system because it lies outside a declared safe range.
struct SafeRangeError : Error {
  using Error::Error;
};
// The device cannot do what was asked (a capability it did not declare, a settle that diverged).
struct DeviceError : Error {
  using Error::Error;
};

// A second Ctrl-C (or SIGTERM) asked to stop now, in the middle of whatever was going on.
struct Interrupted : Error {
  using Error::Error;
};

}  // namespace aeqlab
