#pragma once
// Inference on a data set: nudging 0, parameters held by the homeostat, outputs read, argmax.

#include <vector>

#include "core/dataset.hpp"
#include "core/device.hpp"
#include "core/homeostat.hpp"

namespace aeqlab {

struct Evaluation {
  std::size_t samples = 0;
  std::size_t errors = 0;
  double cost = 0.0;  // mean over samples of 1/2 |y - t|^2
  double error_rate() const { return samples ? double(errors) / double(samples) : 0.0; }
};

// With `stop_on_request`, the first stop request (Ctrl-C) ends it with Interrupted, as a standalone
// evaluation (`aeqlab eval`, `aeqlab.eval`) has no step to finish or checkpoint to write; inside a
// training run only an urgent (second) request does, the first letting the run stop at its step.
Evaluation evaluate(Device& device, Homeostat& homeostat, const std::vector<double>& theta,
                    const Dataset& data, bool stop_on_request = false);

}  // namespace aeqlab
