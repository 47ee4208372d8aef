#include "drivers/transport.hpp"

#include <algorithm>
#include <stdexcept>

#include <spdlog/fmt/fmt.h>

#include "drivers/errors.hpp"
#include "drivers/serial_transport.hpp"
#include "drivers/tcp_transport.hpp"
#include "drivers/wire_trace.hpp"

namespace aeqlab::drivers {

namespace {

using Clock = std::chrono::steady_clock;

// What is left of one overall deadline, rounded up so that a read is never asked to wait 0 ms
// while time remains (which would spin instead of sleeping).
std::chrono::milliseconds remaining(Clock::time_point deadline) {
  return std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
}

std::string visible(std::string_view bytes) {
  std::string out;
  for (const char c : bytes) {
    if (c == '\n')
      out += "\\n";
    else if (c == '\r')
      out += "\\r";
    else
      out += c;
  }
  return out;
}

constexpr std::size_t kChunk = 16 * 1024;

}  // namespace

Transport::Transport(std::string address) : address_(std::move(address)) {}

Transport::~Transport() = default;

void Transport::close() {
  std::lock_guard lock(mutex_);
  do_close();
  buffer_.clear();
}

void Transport::Conversation::write(std::string_view bytes, std::chrono::milliseconds timeout) {
  trace_wire(t_.address_, true, bytes);
  t_.do_write(bytes, timeout);
}

std::string Transport::Conversation::read_until(std::string_view terminator,
                                                std::chrono::milliseconds timeout,
                                                std::size_t max_bytes) {
  if (terminator.empty())
    throw std::invalid_argument(
        fmt::format("{}: read_until needs a non-empty terminator", t_.address_));
  std::string& buffer = t_.buffer_;
  // The message says how long the whole read waited, not the last slice of it.
  const auto timed_out = [&] {
    if (buffer.empty())
      return TimeoutError(fmt::format("{}: no reply within {} ms", t_.address_, timeout.count()));
    return TimeoutError(fmt::format(
        "{}: no complete reply within {} ms ({} bytes arrived without the terminator \"{}\")",
        t_.address_, timeout.count(), buffer.size(), visible(terminator)));
  };
  const auto deadline = Clock::now() + timeout;
  std::size_t searched = 0;  // no terminator starts before this offset
  char chunk[kChunk];
  for (;;) {
    const auto pos = buffer.find(terminator, searched);
    if (pos != std::string::npos) {
      const std::size_t end = pos + terminator.size();
      std::string line = buffer.substr(0, end);
      buffer.erase(0, end);
      trace_wire(t_.address_, false, line);
      return line;
    }
    searched = buffer.size() >= terminator.size() ? buffer.size() - terminator.size() + 1 : 0;
    if (buffer.size() > max_bytes) {
      const std::size_t held = buffer.size();
      buffer.clear();
      throw ReplyError(fmt::format(
          "{}: reply longer than {} bytes without the terminator \"{}\" ({} bytes arrived); "
          "dropped",
          t_.address_, max_bytes, visible(terminator), held));
    }
    const auto left = remaining(deadline);
    if (left.count() <= 0) throw timed_out();
    std::size_t n = 0;
    try {
      n = t_.do_read_some(chunk, sizeof chunk, left);
    } catch (const TimeoutError&) {
      throw timed_out();
    }
    buffer.append(chunk, n);
  }
}

std::string Transport::Conversation::read_exact(std::size_t n, std::chrono::milliseconds timeout) {
  std::string& buffer = t_.buffer_;
  std::string out;
  const std::size_t from_buffer = std::min(n, buffer.size());
  out.assign(buffer, 0, from_buffer);
  buffer.erase(0, from_buffer);
  if (out.size() == n) {
    trace_wire(t_.address_, false, out);
    return out;
  }
  std::size_t got = out.size();
  const auto timed_out = [&] {
    return TimeoutError(fmt::format("{}: only {} of {} expected bytes arrived within {} ms",
                                    t_.address_, got, n, timeout.count()));
  };
  const auto deadline = Clock::now() + timeout;
  // Read straight into the result: a block payload can be megabytes.
  out.resize(n);
  while (got < n) {
    const auto left = remaining(deadline);
    if (left.count() <= 0) throw timed_out();
    try {
      got += t_.do_read_some(out.data() + got, n - got, left);
    } catch (const TimeoutError&) {
      throw timed_out();
    }
  }
  trace_wire(t_.address_, false, out);
  return out;
}

void Transport::Conversation::discard_input() {
  t_.buffer_.clear();
  char chunk[kChunk];
  // Bounded, so an instrument that streams without end cannot hold us here forever.
  for (int i = 0; i < 1024; ++i)
    if (t_.do_read_available(chunk, sizeof chunk) == 0) break;
}

void Transport::Conversation::reopen() {
  t_.buffer_.clear();
  t_.do_close();
  t_.do_open();
}

std::unique_ptr<Transport> open_transport(const Address& address,
                                          std::chrono::milliseconds connect_timeout) {
  switch (address.kind) {
    case Address::Kind::tcp:
      return open_tcp_transport(address, connect_timeout);
    case Address::Kind::serial:
      return open_serial_transport(address);
  }
  throw AddressError(fmt::format("instrument address \"{}\": unknown kind", address.text));
}

}  // namespace aeqlab::drivers
