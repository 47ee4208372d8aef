#pragma once
// Bytes to and from one instrument. Like spdlog's base_sink, the base class owns the lock and
// the read buffer; a concrete transport (TCP, serial) only implements the unlocked primitives.
// One conversation at a time per instrument (a write and the read of its reply must not
// interleave with another thread's), so all talking goes through a Conversation, which holds
// the lock for its lifetime.

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "drivers/address.hpp"

namespace aeqlab::drivers {

class Transport {
 public:
  static constexpr std::size_t kNoLimit = static_cast<std::size_t>(-1);
  explicit Transport(std::string address);
  virtual ~Transport();
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  class Conversation {
   public:
    // Sends all bytes or throws (TimeoutError, DisconnectedError).
    void write(std::string_view bytes, std::chrono::milliseconds timeout);
    // Returns everything up to and including `terminator`; bytes after it stay buffered. More
    // than max_bytes without the terminator is a ReplyError (a peer streaming bytes must not
    // grow the client without bound).
    std::string read_until(std::string_view terminator, std::chrono::milliseconds timeout,
                           std::size_t max_bytes = kNoLimit);
    // Exactly n bytes (binary block payloads).
    std::string read_exact(std::size_t n, std::chrono::milliseconds timeout);
    // Throws away buffered and pending input (after a timeout, so a late reply is not taken
    // for the answer to the next query).
    void discard_input();
    // Closes and opens the connection again (after a disconnect). Buffered input is dropped.
    void reopen();

   private:
    friend class Transport;
    explicit Conversation(Transport& t) : t_(t), lock_(t.mutex_) {}
    Transport& t_;
    std::unique_lock<std::mutex> lock_;
  };

  // Blocks until no other thread is talking to this instrument.
  Conversation converse() { return Conversation(*this); }
  const std::string& address() const { return address_; }
  // Closes the connection; usable from any thread (it takes the lock). Idempotent.
  void close();

 protected:
  // Unlocked primitives; the base class calls them with the lock held.
  virtual void do_open() = 0;
  virtual void do_close() = 0;
  virtual void do_write(std::string_view bytes, std::chrono::milliseconds timeout) = 0;
  // Reads at least one byte into buf (up to n), or throws TimeoutError / DisconnectedError.
  virtual std::size_t do_read_some(char* buf, std::size_t n, std::chrono::milliseconds timeout) = 0;
  // Non-blocking: whatever is already readable, possibly nothing.
  virtual std::size_t do_read_available(char* buf, std::size_t n) = 0;

 private:
  std::string address_;
  std::mutex mutex_;
  std::string buffer_;  // bytes read but not yet consumed
};

// Opens the transport an address names (tcp:// or serial://). Throws AddressError or
// ConnectError naming the address.
std::unique_ptr<Transport> open_transport(const Address& address,
                                          std::chrono::milliseconds connect_timeout);

}  // namespace aeqlab::drivers
