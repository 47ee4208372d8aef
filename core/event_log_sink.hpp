#pragma once
// The session's events.jsonl as a run sink: one line per report, as much as session.detail asks
// (docs/sessions.md lists the events and their fields).

#include <string>
#include <vector>

#include "core/device.hpp"
#include "core/run_sink.hpp"
#include "core/session.hpp"

namespace aeqlab {

class JsonLine;

class EventLogSink final : public RunSink {
 public:
  EventLogSink(Session& session, Detail detail, const DeviceDescription& device)
      : session_(session), detail_(detail), device_(device) {}

  void started(const RunStartReport& r) override;
  void resumed(const ResumeReport& r) override;
  void phase(const PhaseReport& r) override;
  void step(const StepLine& r) override;
  void epoch_ended(const EpochReport& r) override;
  // Synced to the disk: the checkpoint's line is there whenever the checkpoint is.
  void checkpointed(const CheckpointReport& r) override;
  // Synced to the disk. Also called from the emergency stop's thread while the run is blocked.
  void stopped(const StopReport& r) override;

 private:
  void append_settle(JsonLine& line, const PhaseRecord& p) const;

  Session& session_;
  const Detail detail_;
  const DeviceDescription& device_;
  std::string line_;
};

}  // namespace aeqlab
