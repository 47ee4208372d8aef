#pragma once
// A raw SCPI socket (tcp://host:port). Asio stays in the .cpp: this header is all others see.

#include <chrono>
#include <memory>

#include "drivers/address.hpp"
#include "drivers/transport.hpp"

namespace aeqlab::drivers {

// Connects within connect_timeout (also used by later reopens) or throws ConnectError.
std::unique_ptr<Transport> open_tcp_transport(const Address& address,
                                              std::chrono::milliseconds connect_timeout);

}  // namespace aeqlab::drivers
