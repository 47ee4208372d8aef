// One connection of the virtual bench's server (docs/virtual-bench.md): framing, the latency and
// per-write time each message is held for, the faults injected into it, and replies written in
// order without letting a slow reader make the server hold unbounded data.

#include "sim/virtual_bench/virtual_link.hpp"

#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <exception>
#include <string_view>

#include <spdlog/spdlog.h>

namespace aeqlab::sim {

namespace asio = boost::asio;

namespace {

Link::Clock::duration as_duration(double seconds) {
  return std::chrono::duration_cast<Link::Clock::duration>(std::chrono::duration<double>(seconds));
}

// What a "garbled" fault sends instead of each reply: a NAK, a bogus block header and no
// number, so that a client that does not check what it reads is caught out.
constexpr std::string_view kGarbage = "\x15#9?garbled~~\n";

}  // namespace

Link::Link(asio::io_context& io, VirtualInstrument& instrument, const VirtualOptions& options,
           bool tcp, std::size_t max_block, std::function<void()> after_message,
           std::function<void(Link*)> on_close)
    : instrument_(instrument),
      latency_(as_duration(options.latency_s)),
      tcp_(tcp),
      max_unread_(options.max_unread_reply_bytes),
      timer_(io),
      after_message_(std::move(after_message)),
      on_close_(std::move(on_close)),
      framer_(scpi::FramerLimits{options.max_message_bytes, max_block}) {}

void Link::close() {
  if (closed_) return;
  closed_ = true;
  timer_.cancel();
  close_stream();
  pending_.clear();
  if (on_close_) on_close_(this);
}

void Link::read() {
  auto self = shared_from_this();
  async_read_some(asio::buffer(buffer_), [this, self](const error_code& ec, std::size_t n,
                                                      Clock::time_point arrived) {
    if (closed_) return;
    if (ec) {
      if (ec != asio::error::operation_aborted) {
        if (ec != asio::error::eof && ec != asio::error::connection_reset)
          spdlog::debug("virtual bench: {}: read failed: {}", instrument_.name(), ec.message());
        close();
      }
      return;
    }
    try {
      framer_.feed(std::string_view(buffer_.data(), n));
      while (auto refusal = framer_.next_refusal()) {
        spdlog::debug("virtual bench: {}: {}", instrument_.name(), *refusal);
        instrument_.push_error(-223, *refusal);
      }
      while (auto message = framer_.next()) {
        const auto writing = as_duration(instrument_.write_seconds(*message));
        pending_.push_back(
            {std::move(*message), arrived, instrument_.fault_for_next_message(), writing});
      }
    } catch (const std::exception& e) {
      // This connection's trouble, never the server's: the other instruments keep serving.
      spdlog::warn("virtual bench: {}: closing a connection: {}", instrument_.name(), e.what());
      close();
      return;
    }
    pump();
    if (backlogged())
      paused_ = true;  // resumed by resume_if_drained() once the client catches up
    else
      read();
  });
}

void Link::resume_if_drained() {
  if (!paused_ || closed_ || backlogged()) return;
  paused_ = false;
  read();
}

// Processes what is pending unless the replies already waiting for the client pass the bound:
// then the next write that drains them calls this again.
void Link::pump() {
  if (!waiting_ && !closed_ && !pending_.empty() && unread_ <= max_unread_) schedule();
}

void Link::schedule() {
  waiting_ = true;
  // A part writes one element after another: a message's writes start once it has arrived
  // (the latency) and the part is done with the previous message's writes.
  const auto& front = pending_.front();
  timer_.expires_at(std::max(front.received + latency_, busy_until_) + front.writing);
  auto self = shared_from_this();
  timer_.async_wait([this, self](const error_code& ec) {
    waiting_ = false;
    if (ec || closed_) return;
    // Every message whose latency is over, in one go: a timer per message would cost more
    // than the messages.
    const auto now = Clock::now();
    do {
      process_front();
    } while (!closed_ && !pending_.empty() && pending_.front().received + latency_ <= now &&
             unread_ <= max_unread_);
    pump();
    resume_if_drained();
  });
}

void Link::process_front() {
  Pending p = std::move(pending_.front());
  pending_.pop_front();
  if (p.writing > Clock::duration::zero()) busy_until_ = Clock::now();
  const std::string kind = p.fault ? p.fault->kind : std::string();
  if (kind == "no_reply") return;
  if (kind == "disconnect") {
    // A PTY cannot hang up on its client; the message is lost as with no_reply.
    if (tcp_) close();
    return;
  }
  // "no_verify": the message is answered, but the set-points it carries do not take.
  auto replies = instrument_.process(p.message, Clock::now(), kind == "no_verify", max_unread_);
  if (kind == "garbled")
    for (auto& r : replies) r = kGarbage;
  if (kind == "error") instrument_.push_error(p.fault->code, p.fault->text);
  for (auto& r : replies) send(std::move(r));
  after_message_();
}

void Link::send(std::string reply) {
  unread_ += reply.size();
  outbox_.push_back(std::move(reply));
  if (!writing_) write_next();
}

void Link::write_next() {
  if (outbox_.empty() || closed_) {
    writing_ = false;
    return;
  }
  writing_ = true;
  // Every queued reply in one write (a deque keeps them in place meanwhile): one system call
  // for many short replies.
  constexpr std::size_t kGather = 64;
  gather_.clear();
  for (std::size_t i = 0; i < outbox_.size() && i < kGather; ++i)
    gather_.push_back(asio::buffer(outbox_[i]));
  auto self = shared_from_this();
  async_write_all(gather_, [this, self, n = gather_.size()](const error_code& ec, std::size_t) {
    if (closed_) return;
    if (ec) {
      if (ec != asio::error::operation_aborted) close();
      return;
    }
    for (std::size_t i = 0; i < n; ++i) {
      unread_ -= outbox_.front().size();
      outbox_.pop_front();
    }
    write_next();
    pump();
    resume_if_drained();
  });
}

bool stamp_arrivals(int fd) {
  const int on = 1;
  return ::setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on) == 0;
}

std::size_t receive_stamped(int fd, asio::mutable_buffer buffer, boost::system::error_code& ec,
                            Link::Clock::time_point& arrived) {
  iovec io{buffer.data(), buffer.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(timespec))];
  msghdr m{};
  m.msg_iov = &io;
  m.msg_iovlen = 1;
  m.msg_control = control;
  m.msg_controllen = sizeof control;
  const ssize_t n = ::recvmsg(fd, &m, MSG_DONTWAIT);
  const auto now = Link::Clock::now();
  arrived = now;
  if (n < 0) {
    ec = (errno == EAGAIN || errno == EWOULDBLOCK)
             ? boost::system::error_code(asio::error::would_block)
             : boost::system::error_code(errno, boost::system::system_category());
    return 0;
  }
  if (n == 0) {
    ec = asio::error::eof;
    return 0;
  }
  ec = {};
  for (cmsghdr* c = CMSG_FIRSTHDR(&m); c != nullptr; c = CMSG_NXTHDR(&m, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
      timespec t;
      std::memcpy(&t, CMSG_DATA(c), sizeof t);
      // The kernel's time is the wall clock's: its age now, taken off the steady clock. A wall
      // clock that jumped gives an age outside [0, 1 s], and then the read's own time is used.
      const auto stamped = std::chrono::system_clock::time_point(
          std::chrono::duration_cast<std::chrono::system_clock::duration>(
              std::chrono::seconds(t.tv_sec) + std::chrono::nanoseconds(t.tv_nsec)));
      const auto age = std::chrono::system_clock::now() - stamped;
      if (age >= std::chrono::system_clock::duration::zero() && age < std::chrono::seconds(1))
        arrived = now - std::chrono::duration_cast<Link::Clock::duration>(age);
    }
  return static_cast<std::size_t>(n);
}

}  // namespace aeqlab::sim
