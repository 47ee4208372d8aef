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

class TcpTransport final : public Transport {
 public:
  TcpTransport(const Address& address, std::chrono::milliseconds connect_timeout)
      : Transport(address.text),
        host_(address.host),
        port_(address.port),
        connect_timeout_(connect_timeout) {
    do_open();
  }
  ~TcpTransport() override { do_close(); }

 protected:
  void do_open() override;
  void do_close() override {
    error_code ignored;
    socket_.close(ignored);
  }
  void do_write(std::string_view bytes, std::chrono::milliseconds timeout) override;
  std::size_t do_read_some(char* buf, std::size_t n, std::chrono::milliseconds timeout) override;
  std::size_t do_read_available(char* buf, std::size_t n) override;

 private:
  // Runs the pending operation for at most `timeout`; past it, cancels the operation and runs its
  // handler too, so nothing is left pending to fire during a later call. Returns false when the
  // time ran out (the handler then usually saw operation_aborted).
  template <class Cancel>
  bool run(std::chrono::milliseconds timeout, const bool& done, Cancel cancel) {
    io_.restart();
    io_.run_for(timeout);
    if (done) return true;
    cancel();
    io_.restart();
    io_.run();
    return false;
  }
  // run() for a read or write on the socket: the socket's operation is what a timeout cancels.
  auto cancelling_after(std::chrono::milliseconds timeout) {
    return [this, timeout](const bool& done) {
      return run(timeout, done, [this] {
        error_code ignored;
        socket_.cancel(ignored);
      });
    };
  }
  void require_open() const {
    if (!socket_.is_open()) throw DisconnectedError(fmt::format("{}: not connected", address()));
  }
  [[noreturn]] void lost(const error_code& ec, std::string_view during) const {
    if (ec == asio::error::eof)
      throw DisconnectedError(
          fmt::format("{}: the instrument closed the connection {}", address(), during));
    throw DisconnectedError(
        fmt::format("{}: connection lost {}: {}", address(), during, ec.message()));
  }

  std::string host_;
  std::uint16_t port_;
  std::chrono::milliseconds connect_timeout_;
  asio::io_context io_{1};
  tcp::socket socket_{io_};
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
  asio::async_connect(socket_, endpoints, [&](const error_code& e, const tcp::endpoint&) {
    ec = e;
    done = true;
  });
  const bool in_time = run(std::max(left(), std::chrono::milliseconds(1)), done, [&] {
    error_code ignored;
    socket_.close(ignored);
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
  socket_.set_option(tcp::no_delay(true), ec);
  socket_.set_option(asio::socket_base::keep_alive(true), ec);
}

void TcpTransport::do_write(std::string_view bytes, std::chrono::milliseconds timeout) {
  require_open();
  const auto o = asio_transfer::write(socket_, bytes, cancelling_after(timeout));
  if (!o.in_time && o.ec == asio::error::operation_aborted)
    throw TimeoutError(fmt::format(
        "{}: could not send within {} ms ({} of {} bytes sent; the instrument is not reading)",
        address(), timeout.count(), o.bytes, bytes.size()));
  if (o.ec) lost(o.ec, "while sending");
}

std::size_t TcpTransport::do_read_some(char* buf, std::size_t n,
                                       std::chrono::milliseconds timeout) {
  require_open();
  const auto o = asio_transfer::read_some(socket_, buf, n, cancelling_after(timeout));
  if (o.bytes > 0) return o.bytes;  // bytes that raced the cancellation are still bytes
  if (!o.in_time && o.ec == asio::error::operation_aborted)
    throw TimeoutError(fmt::format("{}: no reply within {} ms", address(), timeout.count()));
  if (o.ec) lost(o.ec, "while reading");
  return o.bytes;
}

std::size_t TcpTransport::do_read_available(char* buf, std::size_t n) {
  require_open();
  const int fd = socket_.native_handle();
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
