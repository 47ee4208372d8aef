#pragma once
// A bench laid out for a device, one virtual instrument per role: what `aeqlab serve` serves when
// given no bench file, and a starting point for a lab writing its own. Large groups (a weight
// matrix) are chunked over several instruments of `channels_per_instrument` channels.

#include <cstddef>

#include "core/device.hpp"
#include "instruments/bench_config.hpp"

namespace aeqlab::instruments {

// Instruments (all at tcp://127.0.0.1:0, i.e. any free port):
//   dac_inputs            inputs on 1..n_in
//   dac_nudge             nudge targets on 1..n_out, beta on n_out+1
//   adc_outputs           outputs on 1..n_out
//   dac_knobs_1..         every knob group, back to back, chunked
//   adc_parameters_1..    parameter readback, same layout as the knobs
//   dac_control           homeostat on 1 (native homeostasis), compliance per group on 2..
//                         (adjustable compliance); absent when the device has neither
//   vres_parameters_1..   parameter setpoints, only with `settable_parameters` (and the device's
//                         capability); a device without knobs then has no adc_parameters: its
//                         parameters are the set-points, read back from the array
//   adc_probes_1..        a probe channel per element, with `settable_parameters` when the
//                         device has local probes
BenchConfig virtual_bench_layout(const DeviceDescription& device,
                                 std::size_t channels_per_instrument = 65536,
                                 bool settable_parameters = false);

}  // namespace aeqlab::instruments
