// The virtual bench's server: one event-loop thread serves every instrument on its TCP listener
// and its PTY, so instruments answer concurrently without locks, and message latency is a timer
// rather than a sleep that would hold the others up.

#include "sim/virtual_bench/virtual_bench.hpp"

// Boost 1.74's Asio needs <utility> first under C++20 with g++ 12
// (docs/architecture.md, "Build facts").
#include <utility>

#include <boost/asio.hpp>

#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <array>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include "core/error.hpp"
#include "instruments/resistor_setpoints.hpp"
#include "sim/virtual_bench/virtual_instrument.hpp"
#include "sim/virtual_bench/virtual_link.hpp"
#include "sim/virtual_bench/virtual_physics.hpp"
#include "sim/virtual_bench/virtual_pty.hpp"

namespace aeqlab::sim {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;
using Clock = VirtualPhysics::Clock;

namespace {

// An incremental array's parts: per channel, the values of its taps in the part's tap order.
std::map<int, std::vector<double>> incremental_taps(const instruments::BenchConfig& bench,
                                                    const std::string& instrument) {
  std::map<int, std::vector<double>> taps;
  const auto& grid = *bench.setpoint_grid;
  for (const auto& p : bench.parameter_setpoints) {
    const auto ascending = instruments::grid_values(grid, p.group.safe);
    std::vector<double> by_tap(grid.taps);
    for (std::size_t n = 0; n < grid.taps; ++n)
      by_tap[n] = ascending[instruments::grid_index_of_tap(grid, n)];
    for (const auto& span : p.map)
      if (span.instrument == instrument)
        for (int c : span.channels) taps[c] = by_tap;
  }
  return taps;
}

// The port a bench asks for: tcp://<loopback>:P with P > 0; 0 (ephemeral) for anything else,
// since the virtual bench only ever listens on its own bind address.
unsigned short requested_port(const std::string& address) {
  constexpr std::string_view prefix = "tcp://";
  if (address.rfind(prefix, 0) != 0) return 0;
  const std::string rest = address.substr(prefix.size());
  const auto colon = rest.rfind(':');
  if (colon == std::string::npos) return 0;
  std::string host = rest.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  const bool loopback = host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
  if (!loopback) return 0;
  const std::string port = rest.substr(colon + 1);
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos)
    return 0;
  const unsigned long p = std::stoul(port);
  return p > 0 && p < 65536 ? static_cast<unsigned short>(p) : 0;
}

// The first address of this host's that is neither loopback nor link-local: what a client
// elsewhere can reach a server bound to 0.0.0.0 or :: at. Empty when there is none.
std::string host_address(bool v6) {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return {};
  std::string found;
  for (ifaddrs* i = list; i != nullptr && found.empty(); i = i->ifa_next) {
    if (i->ifa_addr == nullptr || (i->ifa_flags & IFF_LOOPBACK) || !(i->ifa_flags & IFF_UP))
      continue;
    if (i->ifa_addr->sa_family == AF_INET) {
      const auto* a = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
      found = asio::ip::make_address_v4(ntohl(a->sin_addr.s_addr)).to_string();
    } else if (v6 && i->ifa_addr->sa_family == AF_INET6) {
      const auto* a = reinterpret_cast<const sockaddr_in6*>(i->ifa_addr);
      asio::ip::address_v6::bytes_type bytes;
      std::memcpy(bytes.data(), a->sin6_addr.s6_addr, bytes.size());
      const asio::ip::address_v6 address(bytes);
      if (!address.is_link_local()) found = address.to_string();
    }
  }
  ::freeifaddrs(list);
  return found;
}

// The bench has no authentication: listening beyond loopback takes virtual.allow_remote and is
// said loudly. Returns the host to advertise in the ready lines (never 0.0.0.0 or ::, which no
// client can connect to).
std::string check_bind(const asio::ip::address& bind, const VirtualOptions& options) {
  if (bind.is_loopback()) return bind.to_string();
  if (!options.allow_remote)
    throw ConfigError(
        fmt::format("virtual.bind: \"{}\" is not a loopback address; the virtual bench has no "
                    "authentication, so serving it to the network needs virtual.allow_remote=true "
                    "(docs/virtual-bench.md)",
                    options.bind));
  spdlog::warn(
      "virtual bench: LISTENING ON {} WITHOUT AUTHENTICATION: anyone who can reach "
      "this host can drive every instrument (virtual.allow_remote is true)",
      options.bind);
  if (!bind.is_unspecified()) return bind.to_string();
  std::string host = host_address(bind.is_v6());
  if (host.empty()) host = bind.is_v6() ? "::1" : "127.0.0.1";
  return host;
}

}  // namespace

struct VirtualBench::Impl {
  // First member, so it is destroyed last: queued handlers own links that use it.
  asio::io_context io;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  instruments::BenchConfig bench;
  VirtualOptions options;
  VirtualPhysics physics;
  std::vector<std::unique_ptr<VirtualInstrument>> instruments;

  struct Endpoint {
    std::unique_ptr<tcp::acceptor> acceptor;
    VirtualPty pty;
    std::string link;
  };
  std::vector<Endpoint> endpoints;
  std::map<Link*, std::shared_ptr<Link>> links;
  std::vector<std::size_t> connections;  // open TCP connections per instrument
  asio::steady_timer settle_timer{io};
  std::optional<Clock::time_point> settle_armed;

  std::mutex mutex;
  std::condition_variable idle;
  bool started = false;
  bool running = false;
  bool stop_requested = false;
  bool cleaned = false;
  std::thread::id run_thread;

  Impl(Device& device, instruments::BenchConfig b, VirtualOptions o)
      : bench(std::move(b)), options(std::move(o)), physics(device, bench, options) {
    for (std::size_t i = 0; i < options.faults.size(); ++i) {
      const auto& f = options.faults[i];
      bool found = false;
      for (std::size_t k = 0; k < physics.instrument_count(); ++k)
        found = found || physics.instrument_name(k) == f.instrument;
      if (!found)
        throw ConfigError(
            fmt::format("virtual.faults[{}].instrument: no instrument \"{}\" in "
                        "the bench",
                        i, f.instrument));
    }
    for (std::size_t k = 0; k < physics.instrument_count(); ++k) {
      std::vector<VirtualFault> faults;
      for (const auto& f : options.faults)
        if (f.instrument == physics.instrument_name(k)) faults.push_back(f);
      instruments.push_back(std::make_unique<VirtualInstrument>(k, physics, std::move(faults)));
      // The parts the bench declares a per-write time for are its resistor arrays.
      if (bench.setpoint_grid && physics.instrument_kind(k) == InstrumentKind::res)
        instruments.back()->set_write_seconds(bench.setpoint_grid->write_seconds);
      if (bench.setpoint_grid &&
          bench.setpoint_grid->mode == instruments::SetpointGrid::Mode::incremental)
        instruments.back()->set_incremental(incremental_taps(bench, physics.instrument_name(k)),
                                            bench.setpoint_grid->power_on_tap);
    }
  }

  std::shared_ptr<Link> make_link(std::size_t k, auto stream, bool tcp) {
    // A block carries 8 bytes per channel: more than that no command of the instrument takes.
    const std::size_t max_block = std::size_t(std::max(physics.instrument_channels(k), 1)) * 8;
    auto link = std::make_shared<StreamLink<decltype(stream)>>(
        std::move(stream), io, *instruments[k], options, tcp, max_block, [this] { arm_settle(); },
        [this, k, tcp](Link* l) {
          if (tcp) --connections[k];
          links.erase(l);
        });
    if (tcp) ++connections[k];
    links.emplace(link.get(), link);
    return link;
  }

  void accept(std::size_t k) {
    endpoints[k].acceptor->async_accept([this, k](const error_code& ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted || !endpoints[k].acceptor->is_open()) return;
      if (ec) {
        spdlog::warn("virtual bench: {}: accept failed: {}", instruments[k]->name(), ec.message());
      } else if (connections[k] >= options.max_connections) {
        error_code ignored;
        const auto peer = socket.remote_endpoint(ignored);
        spdlog::warn(
            "virtual bench: {}: refused a connection from {}: {} already open "
            "(virtual.max_connections)",
            instruments[k]->name(), peer.address().to_string(), connections[k]);
        socket.close(ignored);
      } else {
        error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        // A message's latency runs from its arrival (docs/virtual-bench.md, "Timing").
        stamp_arrivals(socket.native_handle());
        // The kernel's send buffer holds replies too: bounded like the server's own queue.
        const auto send_buffer =
            std::clamp<std::size_t>(options.max_unread_reply_bytes, 4096, std::size_t{1} << 20);
        socket.set_option(asio::socket_base::send_buffer_size(static_cast<int>(send_buffer)),
                          ignored);
        make_link(k, std::move(socket), true)->start();
      }
      accept(k);
    });
  }

  // One timer for the whole physics, re-armed to the latest change (docs/virtual-bench.md: settle_s
  // after the last change, however many instruments took part in it).
  void arm_settle() {
    const auto due = physics.settle_due();
    if (!due || (settle_armed && *settle_armed == *due)) return;
    settle_armed = due;
    settle_timer.expires_at(*due);
    settle_timer.async_wait([this](const error_code& ec) {
      if (ec) return;
      settle_armed.reset();
      if (auto complaint = physics.settle_if_due(Clock::now())) {
        spdlog::warn("virtual bench: the physics refused the staged values: {}", *complaint);
        std::string text = "Hardware error; the physics refused the staged values: ";
        text += *complaint;
        for (std::size_t k = 0; k < instruments.size(); ++k)
          if (physics.instrument_kind(k) != InstrumentKind::adc)
            instruments[k]->push_error(-240, text);
      }
      arm_settle();
    });
  }

  std::vector<ServedInstrument> start() {
    endpoints.resize(instruments.size());
    connections.assign(instruments.size(), 0);
    std::vector<ServedInstrument> served;
    asio::ip::address bind_address;
    std::string advertised = options.bind;
    if (options.tcp) {
      error_code ec;
      bind_address = asio::ip::make_address(options.bind, ec);
      if (ec)
        throw ConfigError(fmt::format("virtual.bind: \"{}\" is not an IP address ({})",
                                      options.bind, ec.message()));
      advertised = check_bind(bind_address, options);
    }
    for (std::size_t k = 0; k < instruments.size(); ++k) {
      const auto& config = bench.instruments[k];
      ServedInstrument s;
      s.name = config.name;
      s.idn = instruments[k]->idn();
      Endpoint& e = endpoints[k];
      if (options.tcp) {
        const unsigned short port = requested_port(config.address);
        const tcp::endpoint where(bind_address, port);
        e.acceptor = std::make_unique<tcp::acceptor>(io);
        error_code ec;
        e.acceptor->open(where.protocol(), ec);
        if (!ec) e.acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
        if (!ec) e.acceptor->bind(where, ec);
        if (!ec) e.acceptor->listen(asio::socket_base::max_listen_connections, ec);
        if (ec)
          throw std::runtime_error(fmt::format("instrument \"{}\": cannot listen on {}:{}: {}",
                                               config.name, options.bind, port, ec.message()));
        const auto host = advertised.find(':') != std::string::npos
                              ? fmt::format("[{}]", advertised)
                              : advertised;
        s.tcp = fmt::format("tcp://{}:{}", host, e.acceptor->local_endpoint().port());
        accept(k);
      }
      if (options.pty) {
        e.pty = open_virtual_pty(config.name);
        s.pty = e.pty.path;
        if (const auto link = serial_link_path(config.address)) {
          make_serial_link(*link, e.pty.path, config.name);
          e.link = *link;
          s.link = *link;
        }
        // The descriptor now belongs to the event loop; only the slave stays with the endpoint.
        asio::posix::stream_descriptor master(io, e.pty.master);
        e.pty.master = -1;
        make_link(k, std::move(master), false)->start();
      }
      served.push_back(std::move(s));
    }
    return served;
  }

  // Closes every listener, connection and PTY and removes the links made. Idempotent; only
  // called while no thread runs the event loop.
  void cleanup() {
    if (cleaned) return;
    cleaned = true;
    work.reset();
    error_code ignored;
    for (auto& e : endpoints) {
      if (e.acceptor) e.acceptor->close(ignored);
      if (!e.link.empty()) remove_serial_link(e.link, e.pty.path);
      close_virtual_pty(e.pty);
    }
    settle_timer.cancel();
    auto open_links = links;
    for (auto& [raw, link] : open_links) link->close();
    links.clear();
  }
};

VirtualBench::VirtualBench(Device& physics, instruments::BenchConfig bench, VirtualOptions options)
    : impl_(std::make_unique<Impl>(physics, std::move(bench), std::move(options))) {}

VirtualBench::~VirtualBench() {
  stop();
}

std::vector<ServedInstrument> VirtualBench::start() {
  std::lock_guard lock(impl_->mutex);
  if (impl_->started) throw std::logic_error("virtual bench: start() called twice");
  impl_->started = true;
  impl_->work.emplace(impl_->io.get_executor());
  try {
    return impl_->start();
  } catch (...) {
    impl_->cleanup();  // no half-served bench, no stray symlinks
    throw;
  }
}

void VirtualBench::run() {
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->stop_requested) return;
    impl_->running = true;
    impl_->run_thread = std::this_thread::get_id();
  }
  struct Done {
    Impl& impl;
    ~Done() {
      std::lock_guard lock(impl.mutex);
      impl.running = false;
      if (impl.stop_requested) impl.cleanup();
      impl.idle.notify_all();
    }
  } done{*impl_};
  impl_->io.run();
}

void VirtualBench::stop() {
  std::unique_lock lock(impl_->mutex);
  impl_->stop_requested = true;
  impl_->io.stop();
  // From the loop's own thread (a handler): run() cleans up once the loop has returned.
  if (impl_->running && impl_->run_thread == std::this_thread::get_id()) return;
  impl_->idle.wait(lock, [&] { return !impl_->running; });
  impl_->cleanup();
}

WireTally VirtualBench::tally() const {
  return impl_->physics.tally();
}

}  // namespace aeqlab::sim
