#pragma once
// One asynchronous write or read on an Asio stream (a TCP socket, a serial port), run for at
// most a timeout: what the TCP and serial transports share. Included only by their .cpp files,
// so Asio stays out of every header the rest of aeqlab sees.

// Boost 1.74's Asio under -std=c++20 uses std::exchange without including <utility>.
#include <utility>

#include <cerrno>
#include <cstddef>
#include <string_view>

#include <poll.h>
#include <unistd.h>

#include <boost/asio/buffer.hpp>
#include <boost/asio/write.hpp>

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

}  // namespace aeqlab::drivers::asio_transfer
