// The extension module aeqlab._aeqlab, wrapped by the package aeqlab (core/python/aeqlab/): the
// composition root for Python, as core/cli is for the program. docs/python.md is its user
// documentation, docs/architecture.md places it among the parts.
#include <algorithm>
#include <array>
#include <csignal>
#include <optional>

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include "core/cli/commands.hpp"
#include "core/cli/default_config.hpp"
#include "core/cli/report_command.hpp"
#include "core/config.hpp"
#include "core/error.hpp"
#include "core/python/device_bindings.hpp"
#include "core/python/json_conversion.hpp"
#include "core/session_catalog.hpp"
#include "core/stop_request.hpp"

namespace py = pybind11;
namespace fs = std::filesystem;

namespace aeqlab::python {

namespace {

// The Python classes of aeqlab's errors (core/error.hpp): ConfigError is also a ValueError, so
// code that catches ValueError for bad arguments catches a bad config too.
struct PythonErrors {
  PyObject* error = nullptr;
  PyObject* config = nullptr;
  PyObject* data = nullptr;
  PyObject* safe_range = nullptr;
  PyObject* device = nullptr;
  PyObject* interrupted = nullptr;
};
PythonErrors g_errors;

PyObject* new_error(py::module_& m, const char* name, PyObject* bases, const char* doc) {
  const std::string qualified = std::string("aeqlab.") + name;
  PyObject* e = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, bases, nullptr);
  if (!e) throw py::error_already_set();
  m.add_object(name, py::handle(e));
  return e;
}

void add_errors(py::module_& m) {
  auto& e = g_errors;
  e.error = new_error(m, "Error", PyExc_Exception, "Everything aeqlab refuses or fails says why.");
  const auto both = [&](PyObject* other) {
    return py::make_tuple(py::handle(e.error), py::handle(other)).release().ptr();
  };
  e.config = new_error(m, "ConfigError", both(PyExc_ValueError),
                       "A config key, file or value (the message names it).");
  e.data = new_error(m, "DataError", both(PyExc_ValueError), "A data or session file.");
  e.safe_range = new_error(m, "SafeRangeError", both(PyExc_ValueError),
                           "A value refused before it reached the device.");
  e.device =
      new_error(m, "DeviceError", both(PyExc_RuntimeError), "The device cannot do what was asked.");
  e.interrupted = new_error(m, "Interrupted", PyExc_KeyboardInterrupt,
                            "A second interrupt stopped the work in progress.");
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const ConfigError& x) {
      PyErr_SetString(g_errors.config, x.what());
    } catch (const DataError& x) {
      PyErr_SetString(g_errors.data, x.what());
    } catch (const SafeRangeError& x) {
      PyErr_SetString(g_errors.safe_range, x.what());
    } catch (const DeviceError& x) {
      PyErr_SetString(g_errors.device, x.what());
    } catch (const Interrupted& x) {
      PyErr_SetString(g_errors.interrupted, x.what());
    } catch (const Error& x) {
      PyErr_SetString(g_errors.error, x.what());
    }
  });
}

// During a run, Ctrl-C, SIGTERM and SIGHUP are the run's stop requests (core/stop_request.hpp),
// exactly as on the command line; Python's own handlers are put back when it ends.
class StopRequestsDuringRun {
 public:
  StopRequestsDuringRun() {
    for (std::size_t i = 0; i < kSignals.size(); ++i) sigaction(kSignals[i], nullptr, &saved_[i]);
    clear_stop_request();
  }
  ~StopRequestsDuringRun() {
    for (std::size_t i = 0; i < kSignals.size(); ++i) sigaction(kSignals[i], &saved_[i], nullptr);
  }
  StopRequestsDuringRun(const StopRequestsDuringRun&) = delete;
  StopRequestsDuringRun& operator=(const StopRequestsDuringRun&) = delete;

 private:
  static constexpr std::array<int, 3> kSignals{SIGINT, SIGTERM, SIGHUP};
  std::array<struct sigaction, 3> saved_{};
};

// The config a run from Python uses: the defaults, the dict or file, then `settings`; with a
// device given, its section as the session should record it, and a batch of its replicas unless
// the config says otherwise.
nlohmann::json run_config(const py::handle& config, const std::vector<std::string>& settings,
                          Device* device, const py::handle& device_section) {
  nlohmann::json given, resolved;
  if (config.is_none() || py::isinstance<py::dict>(config)) {
    given = config.is_none() ? nlohmann::json::object() : to_json(config);
    resolved = resolve_config_data(cli::default_config(), given, settings);
  } else {
    const fs::path file = py::str(config).cast<std::string>();
    given = read_json_file(file);
    resolved = resolve_config(cli::default_config(), file, settings);
  }
  if (device) {
    resolved["device"] = to_json(device_section, "device");
    const bool batch_given =
        (given.contains("trainer") && given["trainer"].is_object() &&
         given["trainer"].contains("batch_size")) ||
        std::any_of(settings.begin(), settings.end(),
                    [](const std::string& s) { return s.rfind("trainer.batch_size=", 0) == 0; });
    if (!batch_given) resolved["trainer"]["batch_size"] = device->describe().replicas;
  }
  return resolved;
}

py::dict train(const py::handle& config, const std::vector<std::string>& settings,
               std::optional<fs::path> out, std::optional<fs::path> resume, Device* device,
               const py::handle& device_section) {
  cli::TrainOptions o;
  o.device = device;
  if (resume) {
    if (!config.is_none() || !settings.empty() || out)
      throw ConfigError(
          "resume continues a session with the config it recorded; it takes no config, set or "
          "out");
    o.resume = resume;
  } else {
    o.resolved_config = run_config(config, settings, device, device_section);
    o.out = out;
  }
  cli::TrainOutcome outcome;
  int signal = 0;
  {
    StopRequestsDuringRun stop_requests;
    py::gil_scoped_release release;
    outcome = cli::train_session(o);
    signal = stop_signal();
  }
  py::dict r;
  r["status"] = to_string(outcome.result.status);
  r["session"] = outcome.session.string();
  r["exit_status"] = outcome.exit_status;
  r["signal"] = signal;
  r["summary"] = to_python(outcome.result.summary);
  return r;
}

}  // namespace

}  // namespace aeqlab::python

PYBIND11_MODULE(_aeqlab, m) {
  using namespace aeqlab;
  using namespace aeqlab::python;
  m.doc() = "aeqlab's engine; use the package aeqlab (docs/python.md).";
  add_errors(m);
  bind_device(m);

  m.def("_train", &train, py::arg("config"), py::arg("settings"), py::arg("out"), py::arg("resume"),
        py::arg("device"), py::arg("device_section"));
  m.def(
      "_eval",
      [](const fs::path& session, const std::vector<std::string>& settings, Device* device) {
        // Ctrl-C ends the evaluation at the next sample, the device in its safe state, and
        // raises Interrupted (a KeyboardInterrupt); Python's handlers are back afterwards.
        nlohmann::json r;
        {
          StopRequestsDuringRun stop_requests;
          install_stop_handlers();
          py::gil_scoped_release release;
          r = cli::evaluate_session(session, settings, device);
        }
        return to_python(r);
      },
      py::arg("session"), py::arg("settings"), py::arg("device"));
  m.def(
      "default_config", [] { return to_python(cli::default_config()); },
      "The defaults every config starts from (as `aeqlab config` prints them).");
  m.def(
      "resolve_config",
      [](const py::handle& config, const std::vector<std::string>& settings) {
        return to_python(run_config(config, settings, nullptr, py::none()));
      },
      py::arg("config") = py::none(), py::arg("set") = std::vector<std::string>{},
      "The config a run would use: the defaults, then the dict or file, then `set` "
      "(key.path=value). Errors name the file and key, as on the command line.");
  m.def("_is_session_dir", [](const fs::path& dir) { return is_session_dir(dir); });
  m.def("_session_info",
        [](const fs::path& dir) { return to_python(to_json(read_session_info(dir))); });
  m.def("_list_sessions", [](const fs::path& root) {
    py::list l;
    for (const auto& s : list_sessions(root)) l.append(to_python(to_json(s)));
    return l;
  });
  m.def("_report", [](const std::vector<fs::path>& sessions, std::optional<fs::path> out) {
    // As _eval: Ctrl-C stops the drawing (passed on to its python child) and raises Interrupted.
    StopRequestsDuringRun stop_requests;
    install_stop_handlers();
    py::gil_scoped_release release;
    return cli::report_command(sessions, out);
  });
}
