#pragma once
// The serial ports this machine has, described by libserialport (USB vendor/product, serial
// number...), so a lab can tell which /dev/ttyUSBn is which instrument. libserialport is used
// only to list and describe: it cannot open pseudo-terminals, so I/O goes through Asio.

#include <string>
#include <vector>

namespace aeqlab::drivers {

struct SerialPortInfo {
  std::string path;         // /dev/ttyUSB0
  std::string description;  // libserialport's one-line description
  std::string transport;    // "usb", "native", "bluetooth"
  int usb_vendor = -1;      // -1 when not a USB port
  int usb_product = -1;
  std::string manufacturer, product, serial_number;
};

std::vector<SerialPortInfo> list_serial_ports();

}  // namespace aeqlab::drivers
