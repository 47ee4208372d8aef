#pragma once
// A device that passes every operation on to another one, through that device's own public
// contract (so both bases check). Tests derive from it to change one thing about a device: take a
// capability away, inject a fault at a known point, record the calls.

#include <istream>
#include <ostream>
#include <span>
#include <vector>

#include "core/device.hpp"

namespace aeqlab::test_devices {

class ForwardingDevice : public Device {
 public:
  explicit ForwardingDevice(Device& inner) : inner_(inner) { description_ = inner.describe(); }

 protected:
  void do_set_inputs(std::span<const double> v, std::size_t n) override { inner_.set_inputs(v, n); }
  void do_set_nudge(double beta, std::span<const double> t) override { inner_.set_nudge(beta, t); }
  void do_set_knobs(std::span<const double> v) override { inner_.set_knobs(v); }
  void do_read_knobs(std::span<double> out) override { inner_.read_knobs(out); }
  void do_read_parameters(std::span<double> out) override { inner_.read_parameters(out); }
  void do_read_outputs(std::span<double> out) override { inner_.read_outputs(out); }
  SettleReport do_settle() override { return inner_.settle(); }
  SettleReport do_settle_homeostatic() override { return inner_.settle_homeostatic(); }
  void do_set_compliance(std::size_t g, double eps) override { inner_.set_compliance(g, eps); }
  void do_write_parameters(std::span<const double> v) override { inner_.write_parameters(v); }
  void do_read_probes(std::span<double> out) override { inner_.read_probes(out); }
  void do_save_snapshot(std::ostream& out) const override { inner_.save_snapshot(out); }
  void do_restore_snapshot(std::istream& in) override {
    inner_.restore_snapshot(in);
    // The restored compliances and batch, without the capabilities a test may have changed.
    const auto& d = inner_.describe();
    for (std::size_t g = 0; g < d.parameters.size(); ++g)
      description_.parameters[g].compliance = d.parameters[g].compliance;
    restore_active_replicas(inner_.active_replicas());
  }
  std::vector<InstrumentIdentity> do_instruments() const override { return inner_.instruments(); }
  void do_safe_state(bool beside_a_call) override {
    if (!beside_a_call) inner_.safe_state();
  }

  Device& inner_;
};

}  // namespace aeqlab::test_devices
