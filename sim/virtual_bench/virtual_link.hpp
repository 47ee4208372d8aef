#pragma once
// Private to the virtual bench's server (sim/virtual_bench/virtual_bench.cpp, virtual_link.cpp):
// it brings Asio in, so it stays out of every other header.

// Boost 1.74's Asio needs <utility> first under C++20 with g++ 12
// (docs/architecture.md, "Build facts").
#include <utility>

#include <boost/asio.hpp>

#include <array>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "sim/virtual_bench/virtual_instrument.hpp"
#include "sim/virtual_bench/virtual_physics.hpp"
#include "sim/virtual_bench/virtual_scpi_parser.hpp"

namespace aeqlab::sim {

// One conversation with one instrument: a TCP connection or the instrument's PTY. Messages are
// framed, held for the latency, processed in order, and their replies written in order.
class Link : public std::enable_shared_from_this<Link> {
 public:
  using Clock = VirtualPhysics::Clock;
  using error_code = boost::system::error_code;
  // `arrived`: when the bytes reached this host (the kernel's receive time on TCP), from which a
  // message's latency runs; not when the server got round to reading them.
  using ReadHandler =
      std::function<void(const error_code&, std::size_t, Clock::time_point arrived)>;
  using WriteHandler = std::function<void(const error_code&, std::size_t)>;

  Link(boost::asio::io_context& io, VirtualInstrument& instrument, const VirtualOptions& options,
       bool tcp, std::size_t max_block, std::function<void()> after_message,
       std::function<void(Link*)> on_close);
  virtual ~Link() = default;

  void start() { read(); }
  void close();

 protected:
  virtual void async_read_some(boost::asio::mutable_buffer buffer, ReadHandler handler) = 0;
  virtual void async_write_all(const std::vector<boost::asio::const_buffer>& buffers,
                               WriteHandler handler) = 0;
  virtual void close_stream() = 0;

 private:
  struct Pending {
    std::string message;
    Clock::time_point received;
    const VirtualFault* fault;
    Clock::duration writing;  // the per-write time of the set-points it carries
  };

  void read();
  // A client that sends faster than it reads its replies (or than latency lets messages be
  // processed) is not read from until it catches up: what the server holds stays bounded.
  bool backlogged() const { return unread_ > max_unread_ || pending_.size() > kMaxPending; }
  void resume_if_drained();
  void pump();
  void schedule();
  void process_front();
  void send(std::string reply);
  void write_next();

  static constexpr std::size_t kMaxPending = 4096;  // messages waiting out their latency

  VirtualInstrument& instrument_;
  Clock::duration latency_;
  bool tcp_;
  std::size_t max_unread_;
  std::size_t unread_ = 0;  // bytes in outbox_
  bool paused_ = false;
  boost::asio::steady_timer timer_;
  std::function<void()> after_message_;
  std::function<void(Link*)> on_close_;
  std::array<char, 65536> buffer_{};
  scpi::Framer framer_;
  std::deque<Pending> pending_;
  bool waiting_ = false;
  Clock::time_point busy_until_{};  // when the part took its last message's writes
  std::deque<std::string> outbox_;  // a deque keeps the front string in place while sending
  std::vector<boost::asio::const_buffer> gather_;  // what the write under way sends
  bool writing_ = false;
  bool closed_ = false;
};

// Reads what a TCP socket holds without blocking, and when the kernel received it (the socket has
// SO_TIMESTAMPNS on; Clock::now() where the kernel gives no time, as for the first packets after
// the kernel's stamps were first asked for, which it turns on a moment later). `ec`: would_block
// when there was nothing after all, eof at the end of the stream.
std::size_t receive_stamped(int fd, boost::asio::mutable_buffer buffer,
                            boost::system::error_code& ec, Link::Clock::time_point& arrived);
// Asks the kernel to stamp what a TCP socket receives (SO_TIMESTAMPNS); false where it cannot.
bool stamp_arrivals(int fd);

// A Link over one Asio stream: a TCP socket or a PTY's master descriptor.
template <typename Stream>
class StreamLink final : public Link {
 public:
  template <typename... A>
  StreamLink(Stream stream, A&&... args)
      : Link(std::forward<A>(args)...), stream_(std::move(stream)) {}

 protected:
  void async_read_some(boost::asio::mutable_buffer buffer, ReadHandler handler) override {
    if constexpr (std::is_same_v<Stream, boost::asio::ip::tcp::socket>) {
      // Wait until readable, then read with the kernel's receive time (SO_TIMESTAMPNS).
      stream_.async_wait(boost::asio::socket_base::wait_read,
                         [this, buffer, handler = std::move(handler)](const error_code& ec) {
                           if (ec) return handler(ec, 0, Clock::now());
                           Clock::time_point arrived;
                           error_code read_ec;
                           const std::size_t n =
                               receive_stamped(stream_.native_handle(), buffer, read_ec, arrived);
                           if (read_ec == boost::asio::error::would_block)
                             return async_read_some(buffer, std::move(handler));
                           handler(read_ec, n, arrived);
                         });
    } else {
      stream_.async_read_some(buffer,
                              [handler = std::move(handler)](const error_code& ec, std::size_t n) {
                                handler(ec, n, Clock::now());
                              });
    }
  }
  void async_write_all(const std::vector<boost::asio::const_buffer>& buffers,
                       WriteHandler handler) override {
    boost::asio::async_write(stream_, buffers, std::move(handler));
  }
  void close_stream() override {
    error_code ignored;
    stream_.close(ignored);
  }

 private:
  Stream stream_;
};

}  // namespace aeqlab::sim
