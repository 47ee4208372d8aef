#pragma once
// The console as a run sink: a progress display during each epoch, a line per epoch with what is
// left, warnings a person should see, and the resume notes. Through spdlog, so the session's
// log.txt keeps them too.

#include <chrono>
#include <cstddef>
#include <filesystem>

#include "core/progress.hpp"
#include "core/run_sink.hpp"

namespace aeqlab {

class ConsoleSink final : public RunSink {
 public:
  explicit ConsoleSink(std::filesystem::path session_dir);

  void resumed(const ResumeReport& r) override;
  void epoch_started(std::size_t epoch, std::size_t epochs, std::size_t samples) override;
  void step(const StepLine& r) override;
  void paused() override { progress_.finish(); }
  void epoch_ended(const EpochReport& r) override;

 private:
  std::filesystem::path dir_;
  Progress progress_;
  // This segment's pace so far (evaluations and checkpoints included), for what is left.
  std::chrono::steady_clock::time_point segment_t0_ = std::chrono::steady_clock::now();
  // Epochs trained in this segment, the first one of a resume counted by the part of it left.
  double epochs_this_segment_ = 0.0;
  double first_epoch_part_ = 1.0;
};

}  // namespace aeqlab
