#include "core/evaluation.hpp"

#include <numeric>

#include "core/error.hpp"
#include "core/stop_request.hpp"
#include "core/trainer.hpp"

namespace aeqlab {

Evaluation evaluate(Device& device, Homeostat& homeostat, const std::vector<double>& theta,
                    const Dataset& data, bool stop_on_request) {
  const auto& d = device.describe();
  Evaluation e;
  std::vector<std::size_t> idx(data.size());
  std::iota(idx.begin(), idx.end(), std::size_t{0});
  std::vector<double> x, t, y;
  for (std::size_t at = 0; at < data.size(); at += d.replicas) {
    throw_if_urgent_stop();
    if (stop_on_request && stop_requested())
      throw Interrupted("evaluation stopped by a stop request (Ctrl-C)");
    const std::size_t n = std::min(d.replicas, data.size() - at);
    const std::span<const std::size_t> rows(idx.data() + at, n);
    gather_batch(data, rows, x, t);
    device.set_inputs(x, n);
    device.set_nudge(0.0, t);
    homeostat.hold_to_read(device, theta);
    y.resize(n * d.outputs.count);
    device.read_outputs(y);
    e.errors += count_errors(y, t, std::span<const int>(data.labels.data() + at, n),
                             d.outputs.count, e.cost);
    e.samples += n;
  }
  if (e.samples) e.cost /= double(e.samples);
  return e;
}

}  // namespace aeqlab
