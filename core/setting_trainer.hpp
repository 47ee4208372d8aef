#pragma once
// What the rules that set the parameters themselves (EqProp, coupled learning, SPSA) share: the
// device and homeostat they work with, and their shadow copy of the parameters, which is the
// run's parameter target, decays its rates at each epoch's end and is what a resumed run restores.

#include <cstddef>
#include <utility>
#include <vector>

#include "core/device.hpp"
#include "core/homeostat.hpp"
#include "core/shadow_parameters.hpp"
#include "core/trainer.hpp"

namespace aeqlab {

class SettingTrainer : public Trainer {
 public:
  void end_epoch() override { shadow_.end_epoch(); }
  const std::vector<double>& parameter_target() const override { return shadow_.values(); }
  bool sets_parameters() const override { return true; }
  void resume_target(std::vector<double> theta) override { shadow_.assign(std::move(theta)); }
  void resume_progress(std::size_t, std::size_t epochs_done) override {
    shadow_.resume_epochs(epochs_done);
  }
  Homeostat& homeostat() override { return homeostat_; }

 protected:
  // `supported`: the device's description, once the rule has checked it supports it. The shadow
  // starts from what the device holds now.
  SettingTrainer(Device& device, Homeostat& homeostat, const DeviceDescription& supported,
                 const std::vector<double>& rates, double decay)
      : device_(device), homeostat_(homeostat), shadow_(supported, rates, decay) {
    shadow_.read_from(device_);
  }

  Device& device_;
  Homeostat& homeostat_;
  ShadowParameters shadow_;
};

}  // namespace aeqlab
