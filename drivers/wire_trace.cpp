#include "drivers/wire_trace.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <mutex>
#include <vector>

#include <spdlog/fmt/fmt.h>
#include <nlohmann/json.hpp>

namespace aeqlab::drivers {

namespace {

std::mutex g_trace_mutex;
std::shared_ptr<WireTrace> g_trace;

std::string utc_now() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:03}Z", buf, ms.count());
}

// Text as it is when it is printable ASCII (with \r \n \t); otherwise hex, so a binary block is
// recorded byte for byte.
bool printable(std::string_view bytes) {
  for (unsigned char c : bytes)
    if ((c < 0x20 && c != '\r' && c != '\n' && c != '\t') || c > 0x7e) return false;
  return true;
}

std::string hex(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) out += fmt::format("{:02x}", c);
  return out;
}

}  // namespace

struct WireTrace::Impl {
  std::map<std::string, std::string> names;
  std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();
  std::mutex mutex;
  std::vector<std::string> pending;  // before attach
  std::ofstream out;
};

WireTrace::WireTrace(std::map<std::string, std::string> names) : impl_(std::make_unique<Impl>()) {
  impl_->names = std::move(names);
}

WireTrace::~WireTrace() = default;

void WireTrace::attach(const std::filesystem::path& file) {
  std::lock_guard lock(impl_->mutex);
  impl_->out.open(file, std::ios::app);
  for (const auto& line : impl_->pending) impl_->out << line;
  impl_->pending.clear();
  impl_->out.flush();
}

void WireTrace::note(const std::string& address, bool to_instrument, std::string_view bytes) {
  nlohmann::ordered_json j;
  j["time"] = utc_now();
  j["t"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - impl_->t0).count();
  const auto name = impl_->names.find(address);
  j["instrument"] = name == impl_->names.end() ? "" : name->second;
  j["address"] = address;
  j["dir"] = to_instrument ? "sent" : "received";
  if (printable(bytes))
    j["text"] = std::string(bytes);
  else
    j["hex"] = hex(bytes);
  j["bytes"] = bytes.size();
  std::string line = j.dump() + "\n";
  std::lock_guard lock(impl_->mutex);
  if (impl_->out.is_open()) {
    impl_->out << line;
    impl_->out.flush();  // a trace is for when things go wrong: nothing kept in a buffer
  } else {
    impl_->pending.push_back(std::move(line));
  }
}

void set_wire_trace(std::shared_ptr<WireTrace> trace) {
  std::lock_guard lock(g_trace_mutex);
  g_trace = std::move(trace);
}

void trace_wire(const std::string& address, bool to_instrument, std::string_view bytes) {
  std::shared_ptr<WireTrace> trace;
  {
    std::lock_guard lock(g_trace_mutex);
    trace = g_trace;
  }
  if (trace) trace->note(address, to_instrument, bytes);
}

}  // namespace aeqlab::drivers
