#include "core/python/device_bindings.hpp"

#include <chrono>
#include <sstream>

#include <pybind11/numpy.h>
#include <pybind11/stl.h>
#include <spdlog/fmt/fmt.h>

#include "core/cli/device_factory.hpp"
#include "core/device_record.hpp"
#include "core/error.hpp"
#include "core/python/json_conversion.hpp"
#include "core/python/python_device.hpp"

namespace py = pybind11;

namespace aeqlab::python {

namespace {

using Array = py::array_t<double, py::array::c_style | py::array::forcecast>;

std::vector<double> values_of(const py::handle& values, const char* what) {
  Array a;
  try {
    a = Array::ensure(values);
  } catch (py::error_already_set&) {
  }
  if (!a)
    throw py::type_error(fmt::format("{}: expected an array of numbers, got {}", what,
                                     py::repr(values).cast<std::string>()));
  return {a.data(), a.data() + a.size()};
}

Array rows_of(const std::vector<double>& v, std::size_t rows) {
  const std::size_t cols = rows ? v.size() / rows : v.size();
  Array a({rows, cols});
  std::copy(v.begin(), v.end(), a.mutable_data());
  return a;
}

py::dict settle_dict(const SettleReport& r) {
  py::dict d;
  d["converged"] = r.converged;
  d["iterations"] = r.iterations;
  d["residual"] = r.residual;
  d["seconds"] = r.seconds;
  return d;
}

// Each checked operation runs without the GIL: a built-in device's settle is long C++ work, and
// a Python device's hook takes the GIL back itself.
template <class F>
auto released(F&& f) {
  py::gil_scoped_release release;
  return f();
}

// The cost of one contract call as the run sees it (from C++, without the GIL), for
// scripts/bench-python: seconds per call.
std::vector<double> call_seconds(Device& d, const std::string& operation, std::size_t n) {
  const auto& desc = d.describe();
  std::vector<double> inputs(desc.inputs.count, desc.inputs.safe.low);
  std::vector<double> outputs(d.active_replicas() * desc.outputs.count);
  std::vector<double> seconds;
  seconds.reserve(n);
  py::gil_scoped_release release;
  for (std::size_t i = 0; i < n; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    if (operation == "set_inputs")
      d.set_inputs(inputs, 1);
    else if (operation == "read_outputs")
      d.read_outputs(outputs);
    else if (operation == "settle")
      d.settle();
    else
      throw std::invalid_argument("operation: set_inputs, read_outputs or settle");
    seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return seconds;
}

}  // namespace

void bind_device(py::module_& m) {
  py::class_<Device, PythonDevice, std::unique_ptr<Device>>(m, "Device", py::dynamic_attr(), R"(
The device contract (docs/python.md). Built-in devices come from aeqlab.make_device and the
helpers around it; a device written in Python subclasses this class and defines describe(),
set_inputs(), set_nudge(), read_outputs(), settle(), safe_state() and what its description
declares. The methods of this class are the contract's checked operations: called on any
device, they refuse out-of-range or wrongly sized requests before the device sees them.)")
      .def(py::init<>())
      .def(
          "describe", [](const Device& d) { return to_python(describe_json(d)); },
          "The description, in the schema of a session's device.json.")
      .def_property_readonly("active_replicas", &Device::active_replicas)
      .def(
          "set_inputs",
          [](Device& d, const py::handle& values, std::optional<std::size_t> active) {
            const auto v = values_of(values, "set_inputs");
            const std::size_t n = d.describe().inputs.count;
            const std::size_t a = active ? *active : (n ? v.size() / n : 0);
            released([&] {
              d.set_inputs(v, a);
              return 0;
            });
          },
          py::arg("values"), py::arg("active_replicas") = py::none())
      .def(
          "set_nudge",
          [](Device& d, double beta, const py::handle& targets) {
            const auto v = values_of(targets, "set_nudge");
            released([&] {
              d.set_nudge(beta, v);
              return 0;
            });
          },
          py::arg("beta"), py::arg("targets"))
      .def("set_knobs",
           [](Device& d, const py::handle& values) {
             const auto v = values_of(values, "set_knobs");
             released([&] {
               d.set_knobs(v);
               return 0;
             });
           })
      .def("read_knobs",
           [](Device& d) {
             std::vector<double> v(d.describe().knob_count());
             released([&] {
               d.read_knobs(v);
               return 0;
             });
             return rows_of(v, 1).attr("reshape")(-1);
           })
      .def("read_parameters",
           [](Device& d) {
             std::vector<double> v(d.describe().parameter_count());
             released([&] {
               d.read_parameters(v);
               return 0;
             });
             return rows_of(v, 1).attr("reshape")(-1);
           })
      .def("read_outputs",
           [](Device& d) {
             std::vector<double> v(d.active_replicas() * d.describe().outputs.count);
             released([&] {
               d.read_outputs(v);
               return 0;
             });
             return rows_of(v, d.active_replicas());
           })
      .def("read_probes",
           [](Device& d) {
             std::vector<double> v(d.active_replicas() * d.describe().parameter_count());
             released([&] {
               d.read_probes(v);
               return 0;
             });
             return rows_of(v, d.active_replicas());
           })
      .def("settle", [](Device& d) { return settle_dict(released([&] { return d.settle(); })); })
      .def("settle_homeostatic",
           [](Device& d) { return settle_dict(released([&] { return d.settle_homeostatic(); })); })
      .def("set_compliance",
           [](Device& d, std::size_t group, double c) {
             released([&] {
               d.set_compliance(group, c);
               return 0;
             });
           })
      .def("write_parameters",
           [](Device& d, const py::handle& values) {
             const auto v = values_of(values, "write_parameters");
             released([&] {
               d.write_parameters(v);
               return 0;
             });
           })
      .def("save_snapshot",
           [](const Device& d) {
             std::ostringstream out;
             released([&] {
               d.save_snapshot(out);
               return 0;
             });
             return py::bytes(std::move(out).str());
           })
      .def("restore_snapshot",
           [](Device& d, const py::bytes& data) {
             std::istringstream in(data.cast<std::string>());
             released([&] {
               d.restore_snapshot(in);
               return 0;
             });
           })
      .def("instruments",
           [](const Device& d) {
             py::list l;
             for (const auto& i : released([&] { return d.instruments(); })) {
               py::dict e;
               e["name"] = i.name;
               e["identity"] = i.identity;
               e["address"] = i.address;
               l.append(e);
             }
             return l;
           })
      .def("safe_state", [](Device& d) {
        released([&] {
          d.safe_state();
          return 0;
        });
      });

  m.def(
      "_make_device",
      [](const py::handle& section, std::size_t batch_size) {
        const auto j = to_json(section, "device");
        auto resolved = cli::resolved_device_section(j, batch_size);
        auto device = released([&] { return cli::make_device(resolved, batch_size); });
        return py::make_tuple(std::move(device), to_python(resolved));
      },
      py::arg("section"), py::arg("batch_size") = 1);
  m.def("_python_class", [](const Device& d) -> py::object {
    if (const auto* p = dynamic_cast<const PythonDevice*>(&d)) return py::str(p->class_name());
    return py::none();
  });
  m.def("_contract_call_seconds", &call_seconds, py::arg("device"), py::arg("operation"),
        py::arg("n"));
}

}  // namespace aeqlab::python
