#include "drivers/serial_transport.hpp"

// Boost 1.74's Asio under -std=c++20 uses std::exchange without including <utility>.
#include <utility>

#include <cerrno>
#include <cstring>
#include <string>

#include <poll.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/serial_port.hpp>

#include "drivers/asio_transfer.hpp"
#include "drivers/errors.hpp"

namespace aeqlab::drivers {

namespace {

namespace asio = boost::asio;
using boost::system::error_code;

// Asio rather than libserialport for the I/O: libserialport cannot open pseudo-terminals, which
// the virtual bench serves its serial instruments on (it needs /sys/class/tty/<name>, and its
// configuration read uses TIOCMGET, which pseudo-terminals reject).
class SerialTransport final : public asio_transfer::StreamTransport<asio::serial_port> {
 public:
  explicit SerialTransport(const Address& address)
      : StreamTransport(address.text), settings_(address) {
    do_open();
  }
  ~SerialTransport() override { do_close(); }

 protected:
  void do_open() override;
  std::size_t do_read_available(char* buf, std::size_t n) override;

 private:
  void require_open() const override {
    if (!stream_.is_open())
      throw DisconnectedError(
          fmt::format("{}: serial port {} is not open", address(), settings_.path));
  }
  const char* stalled_write_hint() const override { return "check flow control and cabling"; }
  [[noreturn]] void lost(const error_code& ec, std::string_view during) const override {
    if (ec == asio::error::eof && during == "while reading")
      throw DisconnectedError(fmt::format("{}: serial port {} hung up", address(), settings_.path));
    throw DisconnectedError(fmt::format("{}: serial port {} lost {}: {}", address(), settings_.path,
                                        during, ec.message()));
  }
  template <class Option>
  void set(const Option& option, std::string_view what) {
    error_code ec;
    stream_.set_option(option, ec);
    if (ec && pseudo_terminal()) {
      // Line settings mean nothing on a pseudo-terminal and some kernels refuse parity and
      // 7 data bits there; a bench file written for the real 7E1 instrument must still run
      // against its virtual twin.
      spdlog::debug("{}: pseudo-terminal {} ignores {}: {}", address(), settings_.path, what,
                    ec.message());
      return;
    }
    if (ec) {
      do_close();
      throw ConnectError(fmt::format("{}: cannot set {} on serial port {}: {}", address(), what,
                                     settings_.path, ec.message()));
    }
  }

  bool pseudo_terminal() {
    struct stat st {};
    // Unix98 pseudo-terminal slaves have majors 136-143 (Documentation/admin-guide/devices.txt).
    return ::fstat(stream_.native_handle(), &st) == 0 && S_ISCHR(st.st_mode) &&
           major(st.st_rdev) >= 136 && major(st.st_rdev) <= 143;
  }

  Address settings_;
};

void SerialTransport::do_open() {
  do_close();
  error_code ec;
  stream_.open(settings_.path, ec);
  if (ec == boost::system::errc::no_such_file_or_directory ||
      ec == boost::system::errc::no_such_device)
    throw ConnectError(fmt::format("{}: no such serial port {} (is the adapter plugged in?)",
                                   address(), settings_.path));
  if (ec)
    throw ConnectError(
        fmt::format("{}: cannot open serial port {}: {}", address(), settings_.path, ec.message()));
  using base = asio::serial_port_base;
  set(base::baud_rate(settings_.baud), fmt::format("baud rate {}", settings_.baud));
  set(base::character_size(settings_.data_bits), fmt::format("{} data bits", settings_.data_bits));
  set(base::parity(settings_.parity == 'E'   ? base::parity::even
                   : settings_.parity == 'O' ? base::parity::odd
                                             : base::parity::none),
      "parity");
  set(base::stop_bits(settings_.stop_bits == 2 ? base::stop_bits::two : base::stop_bits::one),
      "stop bits");
  set(base::flow_control(settings_.flow == 'H'   ? base::flow_control::hardware
                         : settings_.flow == 'S' ? base::flow_control::software
                                                 : base::flow_control::none),
      "flow control");
  // Bytes an adapter buffered before we opened it belong to nobody's question.
  (void)::tcflush(stream_.native_handle(), TCIOFLUSH);
}

std::size_t SerialTransport::do_read_available(char* buf, std::size_t n) {
  require_open();
  const int fd = stream_.native_handle();
  const long k = asio_transfer::read_ready(fd, [&] { return ::read(fd, buf, n); });
  if (k >= 0) return std::size_t(k);
  if (errno == 0)
    throw DisconnectedError(fmt::format("{}: serial port {} hung up", address(), settings_.path));
  throw DisconnectedError(
      fmt::format("{}: serial port {} lost: {}", address(), settings_.path, std::strerror(errno)));
}

}  // namespace

std::unique_ptr<Transport> open_serial_transport(const Address& address) {
  return std::make_unique<SerialTransport>(address);
}

}  // namespace aeqlab::drivers
