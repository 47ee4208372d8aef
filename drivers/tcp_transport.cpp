#include "drivers/tcp_transport.hpp"

// Boost 1.74's Asio under -std=c++20 uses std::exchange without including <utility>.
#include <utility>

#include <cerrno>
#include <cstring>
#include <string>

#include <poll.h>
#include <sys/socket.h>

#include <spdlog/fmt/fmt.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "drivers/asio_transfer.hpp"
#include "drivers/errors.hpp"

namespace aeqlab::drivers {

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

class TcpTransport final : public asio_transfer::StreamTransport<tcp::socket> {
 public:
  TcpTransport(const Address& address, std::chrono::milliseconds connect_timeout)
      : StreamTransport(address.text),
        host_(address.host),
        port_(address.port),
        connect_timeout_(connect_timeout) {
    do_open();
  }
  ~TcpTransport() override { do_close(); }

 protected:
  void do_open() override;
  std::size_t do_read_available(char* buf, std::size_t n) override;

 private:
  void require_open() const override {
    if (!stream_.is_open()) throw DisconnectedError(fmt::format("{}: not connected", address()));
  }
  const char* stalled_write_hint() const override { return "the instrument is not reading"; }
  [[noreturn]] void lost(const error_code& ec, std::string_view during) const override {
    if (ec == asio::error::eof)
      throw DisconnectedError(
          fmt::format("{}: the instrument closed the connection {}", address(), during));
    throw DisconnectedError(
        fmt::format("{}: connection lost {}: {}", address(), during, ec.message()));
  }

  std::string host_;
  std::uint16_t port_;
  std::chrono::milliseconds connect_timeout_;
};

void TcpTransport::do_open() {
  do_close();
  const auto start = std::chrono::steady_clock::now();
  const auto left = [&] {
    return std::chrono::ceil<std::chrono::milliseconds>(connect_timeout_ -
                                                        (std::chrono::steady_clock::now() - start));
  };
  std::vector<tcp::endpoint> endpoints;
  error_code ec;
  const auto ip = asio::ip::make_address(host_, ec);
  if (!ec) {
    endpoints.emplace_back(ip, port_);
  } else {
    // A name needs the resolver; a numeric address (the usual case on a lab LAN) does not.
    // getaddrinfo cannot be interrupted: a hung DNS lookup may outlast the connect timeout.
    tcp::resolver resolver(io_);
    bool done = false;
    resolver.async_resolve(host_, std::to_string(port_),
                           [&](const error_code& e, const tcp::resolver::results_type& results) {
                             ec = e;
                             for (const auto& r : results) endpoints.push_back(r.endpoint());
                             done = true;
                           });
    if (!run(connect_timeout_, done, [&] { resolver.cancel(); }))
      throw ConnectError(fmt::format("{}: cannot resolve host \"{}\" within {} ms", address(),
                                     host_, connect_timeout_.count()));
    if (ec)
      throw ConnectError(
          fmt::format("{}: cannot resolve host \"{}\": {}", address(), host_, ec.message()));
  }
  bool done = false;
  ec = asio::error::would_block;
  asio::async_connect(stream_, endpoints, [&](const error_code& e, const tcp::endpoint&) {
    ec = e;
    done = true;
  });
  const bool in_time = run(std::max(left(), std::chrono::milliseconds(1)), done, [&] {
    error_code ignored;
    stream_.close(ignored);
  });
  if (!in_time && ec) {
    do_close();
    throw ConnectError(fmt::format("{}: no answer to the connection within {} ms", address(),
                                   connect_timeout_.count()));
  }
  if (ec) {
    do_close();
    throw ConnectError(fmt::format("{}: cannot connect: {}", address(), ec.message()));
  }
  // SCPI is small request/reply messages: Nagle's delay would add up to 40 ms to every query.
  stream_.set_option(tcp::no_delay(true), ec);
  stream_.set_option(asio::socket_base::keep_alive(true), ec);
}

std::size_t TcpTransport::do_read_available(char* buf, std::size_t n) {
  require_open();
  const int fd = stream_.native_handle();
  const long k = asio_transfer::read_ready(fd, [&] { return ::recv(fd, buf, n, MSG_DONTWAIT); });
  if (k >= 0) return std::size_t(k);
  if (errno == 0)
    throw DisconnectedError(fmt::format("{}: the instrument closed the connection", address()));
  throw DisconnectedError(fmt::format("{}: connection lost: {}", address(), std::strerror(errno)));
}

}  // namespace

std::unique_ptr<Transport> open_tcp_transport(const Address& address,
                                              std::chrono::milliseconds connect_timeout) {
  return std::make_unique<TcpTransport>(address, connect_timeout);
}

}  // namespace aeqlab::drivers
