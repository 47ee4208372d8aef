#pragma once
// aeqlab.Device subclassed in Python: the pybind11 trampoline over the contract (core/device.hpp).
// The base class's public operations check sizes, safe ranges and capabilities and take the call
// lock before a hook runs, as for any device; each hook here takes the GIL and calls the Python
// method of the same name (set_inputs, settle, read_outputs, ...). What the Python method returns
// is checked before the run sees it: a reading of the wrong size, not finite or outside its
// declared range is a DeviceError, and so is an exception raised in Python (its traceback in the
// message). docs/python.md, "Devices in Python".

#include <atomic>
#include <mutex>
#include <string>

#include <pybind11/pybind11.h>

#include "core/device.hpp"

namespace aeqlab::python {

class PythonDevice : public Device {
 public:
  PythonDevice() = default;

  // The description, read from the Python describe() on first use (so a subclass may set up
  // what describe() needs before or after calling aeqlab.Device.__init__).
  const DeviceDescription& description() const;
  // The Python class, "module.Name", as sessions record it.
  std::string class_name() const;

 protected:
  void observe(const char* operation) const override;

  void do_set_inputs(std::span<const double> values, std::size_t active_replicas) override;
  void do_set_nudge(double beta, std::span<const double> targets) override;
  void do_set_knobs(std::span<const double> values) override;
  void do_read_knobs(std::span<double> out) override;
  void do_read_parameters(std::span<double> out) override;
  void do_read_outputs(std::span<double> out) override;
  SettleReport do_settle() override;
  SettleReport do_settle_homeostatic() override;
  void do_set_compliance(std::size_t group, double compliance) override;
  void do_write_parameters(std::span<const double> values) override;
  void do_read_probes(std::span<double> out) override;
  void do_save_snapshot(std::ostream& out) const override;
  void do_restore_snapshot(std::istream& in) override;
  std::vector<InstrumentIdentity> do_instruments() const override;
  void do_safe_state(bool beside_a_call) override;

 private:
  void describe_once() const;
  // The Python override of `method`; DeviceError when the class does not define it.
  pybind11::function method(const char* name) const;
  // Calls it with the GIL held; a Python exception becomes a DeviceError with its traceback.
  template <class... Args>
  pybind11::object call(const char* name, Args&&... args) const;
  SettleReport settle_report(const char* name);

  mutable std::mutex describe_mutex_;
  mutable std::atomic<bool> described_{false};
};

}  // namespace aeqlab::python
