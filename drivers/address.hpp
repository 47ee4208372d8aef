#pragma once
// Instrument addresses as a lab writes them in a bench file:
//   tcp://192.168.1.20:5025                    raw SCPI socket (port 5025 if omitted)
//   serial:///dev/ttyUSB0?baud=115200          serial port; also parity=none|even|odd,
//                                              data_bits=5..8, stop_bits=1|2,
//                                              flow=none|hardware|software

#include <cstdint>
#include <string>
#include <string_view>

namespace aeqlab::drivers {

struct Address {
  enum class Kind { tcp, serial };
  Kind kind = Kind::tcp;
  std::string text;  // as written, for messages
  // tcp
  std::string host;
  std::uint16_t port = 5025;
  // serial
  std::string path;
  unsigned baud = 9600;
  char parity = 'N';  // 'N', 'E', 'O'
  unsigned data_bits = 8;
  unsigned stop_bits = 1;
  char flow = 'N';  // 'N' none, 'H' hardware (RTS/CTS), 'S' software (XON/XOFF)
};

// Throws AddressError naming the address and what is wrong with it.
Address parse_address(std::string_view text);

}  // namespace aeqlab::drivers
