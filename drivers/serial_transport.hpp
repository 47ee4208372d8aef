#pragma once
// A serial port or pseudo-terminal (serial:///dev/...). Asio stays in the .cpp: this header is
// all others see.

#include <memory>

#include "drivers/address.hpp"
#include "drivers/transport.hpp"

namespace aeqlab::drivers {

// Opens and configures the port (baud, parity, data/stop bits, flow) or throws ConnectError.
std::unique_ptr<Transport> open_serial_transport(const Address& address);

}  // namespace aeqlab::drivers
