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
  using ReadHandler = std::function<void(const error_code&, std::size_t)>;
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

// A Link over one Asio stream: a TCP socket or a PTY's master descriptor.
template <typename Stream>
class StreamLink final : public Link {
 public:
  template <typename... A>
  StreamLink(Stream stream, A&&... args)
      : Link(std::forward<A>(args)...), stream_(std::move(stream)) {}

 protected:
  void async_read_some(boost::asio::mutable_buffer buffer, ReadHandler handler) override {
    stream_.async_read_some(buffer, std::move(handler));
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
