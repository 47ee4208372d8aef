#include "core/python/python_device.hpp"

#include <chrono>
#include <cmath>
#include <cstdint>
#include <istream>
#include <ostream>

#include <pybind11/numpy.h>
#include <spdlog/fmt/fmt.h>

#include "core/error.hpp"
#include "core/python/description_json.hpp"
#include "core/python/json_conversion.hpp"
#include "core/safe_range.hpp"

namespace py = pybind11;

namespace aeqlab::python {

namespace {

using Array = py::array_t<double, py::array::c_style | py::array::forcecast>;

std::string traceback_of(py::error_already_set& e) {
  try {
    const py::list lines =
        py::module_::import("traceback").attr("format_exception")(e.type(), e.value(), e.trace());
    std::string text;
    for (const auto& line : lines) text += line.cast<std::string>();
    while (!text.empty() && text.back() == '\n') text.pop_back();
    return text;
  } catch (const std::exception&) {
    return e.what();
  }
}

// Values handed to Python as a NumPy array of its own (a copy: the method may keep it).
Array array_of(std::span<const double> values, std::size_t rows) {
  const std::size_t cols = rows ? values.size() / rows : values.size();
  Array a({rows, cols});
  std::copy(values.begin(), values.end(), a.mutable_data());
  return a;
}
Array vector_of(std::span<const double> values) {
  Array a(values.size());
  std::copy(values.begin(), values.end(), a.mutable_data());
  return a;
}

}  // namespace

py::function PythonDevice::method(const char* name) const {
  py::function f = py::get_override(static_cast<const Device*>(this), name);
  if (!f)
    throw DeviceError(fmt::format("{}: the Python device {} does not define {}()",
                                  description_.model, class_name(), name));
  return f;
}

template <class... Args>
py::object PythonDevice::call(const char* name, Args&&... args) const {
  py::function f = method(name);
  try {
    return f(std::forward<Args>(args)...);
  } catch (py::error_already_set& e) {
    throw DeviceError(
        fmt::format("{}: {}() raised in Python:\n{}", description_.model, name, traceback_of(e)));
  }
}

std::string PythonDevice::class_name() const {
  py::gil_scoped_acquire gil;
  const py::handle self = py::detail::get_object_handle(static_cast<const Device*>(this),
                                                        py::detail::get_type_info(typeid(Device)));
  if (!self) return "aeqlab.Device";
  const py::handle type = py::type::handle_of(self);
  return py::str(type.attr("__module__")).cast<std::string>() + "." +
         py::str(type.attr("__qualname__")).cast<std::string>();
}

void PythonDevice::describe_once() const {
  if (described_.load()) return;
  std::lock_guard<std::mutex> lock(describe_mutex_);
  if (described_.load()) return;
  const std::string who = class_name();
  py::gil_scoped_acquire gil;
  py::object d;
  try {
    d = method("describe")();
  } catch (py::error_already_set& e) {
    throw DeviceError(fmt::format("{}: describe() raised in Python:\n{}", who, traceback_of(e)));
  }
  auto& mine = const_cast<DeviceDescription&>(description_);
  mine = description_from_json(to_json(d, who + ".describe()"), who);
  described_ = true;
}

const DeviceDescription& PythonDevice::description() const {
  describe_once();
  return description_;
}

void PythonDevice::observe(const char*) const {
  describe_once();
}

namespace {

// A reading the device returned, checked as the contract checks what it sends: the right number
// of values, each finite and inside its group's declared range.
template <class Groups, class ChannelsOf>
void take_reading(const py::object& returned, std::span<double> out, const Groups& groups,
                  ChannelsOf channels_of, const char* role, const std::string& model,
                  const char* name) {
  Array a;
  try {
    a = Array::ensure(returned);
  } catch (py::error_already_set&) {
  }
  if (!a)
    throw DeviceError(fmt::format("{}: {}() returned {}, not an array of numbers", model, name,
                                  py::repr(returned).cast<std::string>()));
  if (std::size_t(a.size()) != out.size())
    throw DeviceError(fmt::format("{}: {}() returned {} values, the contract asked for {}", model,
                                  name, a.size(), out.size()));
  std::copy(a.data(), a.data() + out.size(), out.begin());
  try {
    std::size_t per_pass = 0;
    for (const auto& g : groups) per_pass += channels_of(g).count;
    std::size_t at = 0;
    while (per_pass > 0 && at < out.size())
      for (const auto& g : groups) {
        const ChannelGroup& c = channels_of(g);
        require_in_range(c, std::span<const double>(out).subspan(at, c.count), role);
        at += c.count;
      }
  } catch (const SafeRangeError& e) {
    throw DeviceError(fmt::format("{}: {}() returned a reading the device does not declare: {}",
                                  model, name, e.what()));
  }
}

const ChannelGroup& itself(const ChannelGroup& g) {
  return g;
}
const ChannelGroup& channels(const ParameterGroup& g) {
  return g.channels;
}

}  // namespace

void PythonDevice::do_set_inputs(std::span<const double> values, std::size_t active) {
  py::gil_scoped_acquire gil;
  call("set_inputs", array_of(values, active), active);
}

void PythonDevice::do_set_nudge(double beta, std::span<const double> targets) {
  py::gil_scoped_acquire gil;
  call("set_nudge", beta, array_of(targets, active_replicas()));
}

void PythonDevice::do_set_knobs(std::span<const double> values) {
  py::gil_scoped_acquire gil;
  call("set_knobs", vector_of(values));
}

void PythonDevice::do_read_knobs(std::span<double> out) {
  py::gil_scoped_acquire gil;
  take_reading(call("read_knobs"), out, description_.knobs, itself, "knob", description_.model,
               "read_knobs");
}

void PythonDevice::do_read_parameters(std::span<double> out) {
  py::gil_scoped_acquire gil;
  take_reading(call("read_parameters"), out, description_.parameters, channels, "parameter",
               description_.model, "read_parameters");
}

void PythonDevice::do_read_outputs(std::span<double> out) {
  py::gil_scoped_acquire gil;
  const std::vector<ChannelGroup> outputs{description_.outputs};
  take_reading(call("read_outputs"), out, outputs, itself, "output", description_.model,
               "read_outputs");
}

void PythonDevice::do_read_probes(std::span<double> out) {
  py::gil_scoped_acquire gil;
  // Probes have no declared range: only finite values are asked of them.
  ChannelGroup any{.name = "probe",
                   .count = description_.parameter_count(),
                   .unit = description_.probes.unit,
                   .safe = {-HUGE_VAL, HUGE_VAL}};
  const std::vector<ChannelGroup> probes{any};
  take_reading(call("read_probes"), out, probes, itself, "probe", description_.model,
               "read_probes");
}

SettleReport PythonDevice::settle_report(const char* name) {
  py::gil_scoped_acquire gil;
  const auto t0 = std::chrono::steady_clock::now();
  const py::object r = call(name);
  SettleReport report;
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  report.converged = true;
  if (r.is_none()) return report;
  if (py::isinstance<py::bool_>(r)) {
    report.converged = r.cast<bool>();
    return report;
  }
  if (!py::isinstance<py::dict>(r))
    throw DeviceError(fmt::format(
        "{}: {}() returned {}; expected None, True/False or a dict (converged, iterations, "
        "residual)",
        description_.model, name, py::repr(r).cast<std::string>()));
  const py::dict d = r.cast<py::dict>();
  try {
    if (d.contains("converged")) report.converged = d["converged"].cast<bool>();
    if (d.contains("iterations")) report.iterations = d["iterations"].cast<std::size_t>();
    if (d.contains("residual")) report.residual = d["residual"].cast<double>();
    if (d.contains("seconds")) report.seconds = d["seconds"].cast<double>();
  } catch (const py::cast_error&) {
    throw DeviceError(
        fmt::format("{}: {}() returned {}: converged must be a bool, iterations a "
                    "whole number, residual and seconds numbers",
                    description_.model, name, py::repr(r).cast<std::string>()));
  }
  return report;
}

SettleReport PythonDevice::do_settle() {
  return settle_report("settle");
}
SettleReport PythonDevice::do_settle_homeostatic() {
  return settle_report("settle_homeostatic");
}

void PythonDevice::do_set_compliance(std::size_t group, double compliance) {
  py::gil_scoped_acquire gil;
  call("set_compliance", group, compliance);
}

void PythonDevice::do_write_parameters(std::span<const double> values) {
  py::gil_scoped_acquire gil;
  call("write_parameters", vector_of(values));
}

// A snapshot is the bytes save_snapshot() returns, after their length: restore_snapshot() gets
// exactly them back.
void PythonDevice::do_save_snapshot(std::ostream& out) const {
  py::gil_scoped_acquire gil;
  const py::object r = call("save_snapshot");
  if (!py::isinstance<py::bytes>(r))
    throw DeviceError(fmt::format("{}: save_snapshot() returned {}, not bytes", description_.model,
                                  py::repr(r).cast<std::string>()));
  const std::string bytes = r.cast<std::string>();
  const std::uint64_t n = bytes.size();
  out.write(reinterpret_cast<const char*>(&n), sizeof n);
  out.write(bytes.data(), std::streamsize(bytes.size()));
}

void PythonDevice::do_restore_snapshot(std::istream& in) {
  std::uint64_t n = 0;
  in.read(reinterpret_cast<char*>(&n), sizeof n);
  std::string bytes(n <= (1ull << 34) ? n : 0, '\0');  // a damaged length asks for no more
  in.read(bytes.data(), std::streamsize(bytes.size()));
  if (!in || bytes.size() != n)
    throw DeviceError(fmt::format("snapshot of {} bytes is cut short", n));
  py::gil_scoped_acquire gil;
  call("restore_snapshot", py::bytes(bytes));
}

std::vector<InstrumentIdentity> PythonDevice::do_instruments() const {
  py::gil_scoped_acquire gil;
  if (!py::get_override(static_cast<const Device*>(this), "instruments")) return {};
  std::vector<InstrumentIdentity> list;
  for (const auto& i : call("instruments")) {
    const auto d = i.cast<py::dict>();
    const auto text = [&](const char* k) {
      return d.contains(k) ? py::str(d[k]).cast<std::string>() : std::string();
    };
    list.push_back({text("name"), text("identity"), text("address")});
  }
  return list;
}

void PythonDevice::do_safe_state(bool beside_a_call) {
  py::gil_scoped_acquire gil;
  call("safe_state", beside_a_call);
}

}  // namespace aeqlab::python
