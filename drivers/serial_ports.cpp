#include "drivers/serial_ports.hpp"

#include <libserialport.h>

namespace aeqlab::drivers {

namespace {

std::string text_or_empty(const char* s) {
  return s ? std::string(s) : std::string();
}

}  // namespace

std::vector<SerialPortInfo> list_serial_ports() {
  std::vector<SerialPortInfo> out;
  sp_port** ports = nullptr;
  // A machine without serial ports (a container, CI) is not an error: the list is just empty.
  if (sp_list_ports(&ports) != SP_OK || ports == nullptr) return out;
  for (sp_port** p = ports; *p != nullptr; ++p) {
    SerialPortInfo info;
    info.path = text_or_empty(sp_get_port_name(*p));
    info.description = text_or_empty(sp_get_port_description(*p));
    switch (sp_get_port_transport(*p)) {
      case SP_TRANSPORT_USB: {
        info.transport = "usb";
        int vid = -1, pid = -1;
        if (sp_get_port_usb_vid_pid(*p, &vid, &pid) == SP_OK) {
          info.usb_vendor = vid;
          info.usb_product = pid;
        }
        info.manufacturer = text_or_empty(sp_get_port_usb_manufacturer(*p));
        info.product = text_or_empty(sp_get_port_usb_product(*p));
        info.serial_number = text_or_empty(sp_get_port_usb_serial(*p));
        break;
      }
      case SP_TRANSPORT_BLUETOOTH:
        info.transport = "bluetooth";
        break;
      case SP_TRANSPORT_NATIVE:
      default:
        info.transport = "native";
        break;
    }
    out.push_back(std::move(info));
  }
  sp_free_port_list(ports);
  return out;
}

}  // namespace aeqlab::drivers
