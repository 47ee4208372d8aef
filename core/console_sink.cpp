#include "core/console_sink.hpp"

#include <cmath>
#include <string>

#include <spdlog/spdlog.h>

namespace aeqlab {

ConsoleSink::ConsoleSink(std::filesystem::path session_dir) : dir_(std::move(session_dir)) {}

void ConsoleSink::resumed(const ResumeReport& r) {
  if (!r.checkpoint) {
    spdlog::warn("{}: no checkpoint yet; the run starts over from its beginning",
                 (dir_ / "checkpoints").string());
    return;
  }
  if (r.dropped_bytes)
    spdlog::warn("{}: dropped a partial last line of {} bytes left by the interruption",
                 (dir_ / "events.jsonl").string(), r.dropped_bytes);
  spdlog::info("resuming from checkpoint {}: epoch {}, sample {} of {}", *r.checkpoint, r.epoch,
               r.position, r.train_samples);
  // What is left is measured from here, at the pace of what this segment trains: the first epoch
  // of a resume mid-epoch is only its rest (the ETA said 1 s for 14 s otherwise).
  segment_t0_ = std::chrono::steady_clock::now();
  if (r.train_samples > 0 && r.position < r.train_samples)
    first_epoch_part_ = 1.0 - double(r.position) / double(r.train_samples);
  if (r.restore)
    spdlog::info("the device holds checkpoint {}'s parameters: {} (tolerance {:.3g})",
                 *r.checkpoint, describe(*r.restore), r.restore_tolerance);
}

void ConsoleSink::epoch_started(std::size_t epoch, std::size_t epochs, std::size_t samples) {
  progress_.start(fmt::format("epoch {}/{}", epoch, epochs), samples);
}

void ConsoleSink::step(const StepLine& r) {
  progress_.update(r.tally.samples,
                   fmt::format("{:.0f} samples/s", double(r.tally.samples) / r.tally.seconds));
}

void ConsoleSink::epoch_ended(const EpochReport& r) {
  progress_.finish();
  const EpochTally& t = r.tally;
  const std::string running =
      r.scored ? fmt::format("train error {:.2f}% (running), ",
                             100 * (t.samples ? double(t.errors) / double(t.samples) : 0.0))
               : "";
  // What is left, at this segment's pace so far: an overnight run's first question.
  epochs_this_segment_ += first_epoch_part_;
  first_epoch_part_ = 1.0;
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - segment_t0_).count();
  const double left = elapsed / epochs_this_segment_ * double(r.epochs - r.epoch);
  const long secs = std::lround(left);
  std::string eta;
  if (r.epoch < r.epochs)
    eta = secs >= 3600 ? fmt::format(", about {}h{:02d}m left", secs / 3600, secs / 60 % 60)
          : secs >= 60 ? fmt::format(", about {}m{:02d}s left", secs / 60, secs % 60)
                       : fmt::format(", about {}s left", secs);
  const double rate = t.seconds > 0 ? double(t.samples) / t.seconds : 0.0;
  spdlog::info(
      "epoch {}/{}: {}test error {:.2f}%, {:.0f} samples/s, {} of {} settles unconverged{}",
      r.epoch, r.epochs, running, 100 * r.test.error_rate(), rate, t.unconverged, t.settles, eta);
  if (t.unconverged * 10 > t.settles)
    spdlog::warn(
        "epoch {}: {} of {} settles did not reach equilibrium; the steps are not the gradient "
        "steps they should be (raise max_iterations or lower the compliance)",
        r.epoch, t.unconverged, t.settles);
}

}  // namespace aeqlab
