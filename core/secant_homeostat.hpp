#pragma once
// The feedback homeostat that `trainer.homeostat: feedback` means (docs/algorithm.md §4). Like the
// proportional loop it only settles, sets knobs and reads parameters, so it runs unchanged on a
// bench; it converges in a few rounds where the proportional loop needs many or none.
//
// Each settle shows what the physics does to the parameters: after a settle that started from
// theta_k under knobs u_k, the parameters read theta_{k+1} = u_k - o(theta_k), where the offset
// o = eps dE/dtheta is the device's own response (measured, never computed). Holding theta at the
// target means setting u = target + o(theta_{k+1}) before the next settle. The offset at the new
// theta is predicted from the last `memory` measured pairs (theta, o) by a least-squares secant
// (Anderson-type multisecant) model; the proportional step is the memoryless case. Anderson
// acceleration on the knobs alone fails here: the parameters carry their own state from settle
// to settle, so the map u -> theta(u) is not a function of u alone.

#include <cstddef>
#include <string>
#include <vector>

#include "core/homeostat.hpp"

namespace aeqlab {

class SecantHomeostat final : public Homeostat {
 public:
  explicit SecantHomeostat(FeedbackSettings settings) : settings_(settings) {}
  HomeostatReport hold(Device& device, const std::vector<double>& target) override;
  // With the probe, a hold for reading ends at the probe's settle when that held the parameters.
  HomeostatReport hold_to_read(Device& device, const std::vector<double>& target) override;
  bool needs_target() const override { return true; }
  // The knob values it last set, then one flag per parameter group: 1 once the group's limit
  // was reported, then the probe's ratio, read-out floor, plant gain and whether the secant
  // rounds hold from its floor (empty before its first hold).
  std::vector<double> memory() const override;
  void restore_memory(std::vector<double> memory) override;

  // The last hold's loop gain, split over the parameter groups by their share of the measured
  // mode (they sum to the gain; all 0 when not measured).
  const std::vector<double>& group_gains() const { return gains_; }
  // How many times it scaled a compliance down (trainer.feedback.limit "scale").
  std::size_t scalings() const { return scalings_; }

 private:
  // One measured pair of differences: theta_k - theta_{k-1} and o_k - o_{k-1}.
  struct SecantPair {
    std::vector<double> dtheta, doffset;
  };
  void predict_offset(std::size_t kept, const std::vector<double>& step,
                      std::vector<double>& offset) const;
  void measure_gain(const DeviceDescription& d, const SecantPair& pair);
  void clip_to_safe_range(const DeviceDescription& d, const std::vector<double>& target);
  void mark_pinned(const DeviceDescription& d);
  void report_limit(Device& device, const HomeostatReport& r);
  // The stiff probe (core/secant_probe.cpp). Probe cycles (trainer.feedback.probe); true when
  // measured_ holds the last settle's reading.
  bool probe_cycles(Device& device, const std::vector<double>& target, HomeostatReport& r);
  void choose_ratio();  // at the start of a hold: the forced ratio, or "auto"'s
  // The largest error that counts as held: the tolerance, or, where the secant rounds were
  // found not to hold, the probe's measured floor (floor_error).
  double held_error() const;
  double floor_error() const;
  void report_floor(const DeviceDescription& d);
  void report_probe_stall(const DeviceDescription& d, double worst, double response);

  FeedbackSettings settings_;
  std::vector<double> knobs_, best_knobs_;
  std::vector<std::size_t> clipped_;
  // Per parameter: read at its range's edge this round / the round before.
  std::vector<char> at_edge_,
      edge_before_;               // per knob group: knobs held at a range edge last round
  std::vector<double> reported_;  // per group: the limit was reported (1) or not (0)
  std::vector<double> gains_, shares_;
  double hold_gain_ = 0.0;
  bool to_read_ = false;  // the present hold only reads the outputs (hold_to_read)
  bool probed_ = false;   // the present hold began with the stiff probe
  // The probe's tuning, carried from hold to hold (and in checkpoints): its ratio k, the
  // read-out's step as the probe shows it (a landing at the floor / k; 0 until measured), and
  // the largest plant response a probe cycle measured (landing / probe move; 0 until measured).
  double ratio_ = 0.0, floor_ = 0.0, plant_gain_ = 0.0;
  // Whether the secant rounds refine a landing at the floor: 1 they did (a plant below gain 1),
  // -1 they ran away (holds then end at the floor), 0 not tried yet. Also in checkpoints.
  double holdable_ = 0.0;
  double floor_landing_ = 0.0;   // the present hold's probe landed at the floor, this far off
  double floor_seen_at_ = 0.0;   // the ratio of the present hold's last landing at the floor
  double reported_floor_ = 0.0;  // the floor last logged
  bool restored_ = false;        // knobs_ holds a whole restored memory, not yet split
  bool probe_stalled_ = false;   // the present hold ended at a probe landing the plant limits
  bool stall_reported_ = false;  // that was logged (once)
  // Scratch, kept to avoid reallocating 200k-long vectors every round.
  std::vector<double> theta_, previous_theta_, measured_, offset_, previous_offset_, step_,
      predicted_, estimate_, probe_, compliance_;
  std::vector<SecantPair> pairs_;
  std::size_t oldest_ = 0;
  std::size_t scalings_ = 0;  // compliances scaled down so far (trainer.feedback.limit "scale")  //
                              // the pair the next one replaces once `memory` are kept
};

}  // namespace aeqlab
