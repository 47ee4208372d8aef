#pragma once
// What can go wrong between aeqlab and an instrument. Every message names the instrument's
// address (and, from the SCPI layer up, the instrument and the command), so a lab user knows
// which cable, port or setting to look at.

#include <string>
#include <utility>

#include "core/error.hpp"

namespace aeqlab::drivers {

// Anything on the wire: the base the bench device catches to bring the bench to a safe state.
// An aeqlab::Error like every error aeqlab raises; the instruments layer is the one place that
// turns it into a DeviceError naming the bench.
struct TransportError : aeqlab::Error {
  using aeqlab::Error::Error;
};
// The address cannot be understood (bad scheme, port, baud rate...).
struct AddressError : TransportError {
  using TransportError::TransportError;
};
// The port or host cannot be opened or connected (missing device node, refused connection).
struct ConnectError : TransportError {
  using TransportError::TransportError;
};
// The instrument did not answer in time.
struct TimeoutError : TransportError {
  using TransportError::TransportError;
};
// The connection dropped (peer closed the socket, the USB adapter was unplugged).
struct DisconnectedError : TransportError {
  using TransportError::TransportError;
};
// A reply that does not parse as what was asked for (garbled, truncated, wrong count).
struct ReplyError : TransportError {
  using TransportError::TransportError;
};
// The instrument reported an error in its queue (SYST:ERR?) after a command.
struct InstrumentError : TransportError {
  InstrumentError(const std::string& what, int code_, std::string text_)
      : TransportError(what), code(code_), text(std::move(text_)) {}
  int code;
  std::string text;
};

}  // namespace aeqlab::drivers
