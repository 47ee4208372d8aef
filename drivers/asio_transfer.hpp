#pragma once
// What the TCP and serial transports share: a transport over one Asio stream (a TCP socket, a
// serial port), and one asynchronous write or read on it run for at most a timeout. Included
// only by their .cpp files, so Asio stays out of every header the rest of aeqlab sees.

// Boost 1.74's Asio under -std=c++20 uses std::exchange without including <utility>.
#include <utility>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <string_view>

#include <poll.h>
#include <unistd.h>

#include <spdlog/fmt/fmt.h>
#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/write.hpp>

#include "drivers/errors.hpp"
#include "drivers/transport.hpp"

namespace aeqlab::drivers::asio_transfer {

// How one operation ended: in time or not (the handler has run either way), its error, and how
// many bytes it moved.
struct Outcome {
  bool in_time = false;
  boost::system::error_code ec;
  std::size_t bytes = 0;
};

// `start(handler)` starts the operation; `run(done)` runs the I/O context until `done` or the
// transport's timeout (cancelling then) and says whether it finished in time.
template <class Start, class Run>
Outcome transfer(Start&& start, Run&& run) {
  bool done = false;
  Outcome o;
  start([&](const boost::system::error_code& e, std::size_t n) {
    o.ec = e;
    o.bytes = n;
    done = true;
  });
  o.in_time = run(done);
  return o;
}

template <class Stream, class Run>
Outcome write(Stream& stream, std::string_view bytes, Run&& run) {
  return transfer(
      [&](auto handler) {
        boost::asio::async_write(stream, boost::asio::buffer(bytes.data(), bytes.size()), handler);
      },
      run);
}

template <class Stream, class Run>
Outcome read_some(Stream& stream, char* buf, std::size_t n, Run&& run) {
  return transfer(
      [&](auto handler) { stream.async_read_some(boost::asio::buffer(buf, n), handler); }, run);
}

// Whatever `read(buf, n)` returns once `fd` is readable right now, without blocking: 0 when
// nothing is waiting (or the call was interrupted), the byte count, or -1 with errno set (and
// errno 0 when the peer hung up).
template <class Read>
long read_ready(int fd, Read&& read) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, 0) <= 0) return 0;
  const long k = long(read());
  if (k > 0) return k;
  if (k == 0) {
    errno = 0;
    return -1;
  }
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return 0;
  return -1;
}

// A transport over one Asio stream and its own I/O context: closing, writing and reading within
// a timeout. The concrete transport opens the stream and says what its failures mean.
template <class Stream>
class StreamTransport : public Transport {
 public:
  using Transport::Transport;

 protected:
  void do_close() override {
    boost::system::error_code ignored;
    stream_.close(ignored);
  }

  void do_write(std::string_view bytes, std::chrono::milliseconds timeout) override {
    require_open();
    const auto o = asio_transfer::write(stream_, bytes, cancelling_after(timeout));
    if (!o.in_time && o.ec == boost::asio::error::operation_aborted)
      throw TimeoutError(fmt::format("{}: could not send within {} ms ({} of {} bytes sent; {})",
                                     address(), timeout.count(), o.bytes, bytes.size(),
                                     stalled_write_hint()));
    if (o.ec) lost(o.ec, "while sending");
  }

  std::size_t do_read_some(char* buf, std::size_t n, std::chrono::milliseconds timeout) override {
    require_open();
    const auto o = asio_transfer::read_some(stream_, buf, n, cancelling_after(timeout));
    if (o.bytes > 0) return o.bytes;  // bytes that raced the cancellation are still bytes
    if (!o.in_time && o.ec == boost::asio::error::operation_aborted)
      throw TimeoutError(fmt::format("{}: no reply within {} ms", address(), timeout.count()));
    if (o.ec) lost(o.ec, "while reading");
    return o.bytes;
  }

  // Throws DisconnectedError, naming the port or host, when the stream is not open.
  virtual void require_open() const = 0;
  // Why a write may not get through in time, for the TimeoutError that says it did not.
  virtual const char* stalled_write_hint() const = 0;
  // Throws the DisconnectedError for `ec`, which happened `during` ("while reading").
  [[noreturn]] virtual void lost(const boost::system::error_code& ec,
                                 std::string_view during) const = 0;

  // Runs the pending operation for at most `timeout`; past it, `cancel()`s the operation and runs
  // its handler too, so nothing is left pending to fire during a later call. Returns false when
  // the time ran out (the handler then usually saw operation_aborted).
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
  // run() for a read or write on the stream: the stream's operation is what a timeout cancels.
  auto cancelling_after(std::chrono::milliseconds timeout) {
    return [this, timeout](const bool& done) {
      return run(timeout, done, [this] {
        boost::system::error_code ignored;
        stream_.cancel(ignored);
      });
    };
  }

  boost::asio::io_context io_{1};
  Stream stream_{io_};
};

}  // namespace aeqlab::drivers::asio_transfer
