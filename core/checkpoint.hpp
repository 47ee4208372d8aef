#pragma once
// Checkpoints of a run: everything `--resume` needs to continue exactly where the run stood.
// Each is a folder checkpoints/NNNNNN/ written under a temporary name, synced to disk, then
// renamed: a checkpoint either exists whole or not at all, whenever the program is killed.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace aeqlab {

class DurableFiles;

struct Checkpoint {
  std::uint64_t sequence = 0;
  nlohmann::json progress = nlohmann::json::object();  // where the run stands (the run's own)
  std::vector<double> parameters;                      // device order; empty without readback
  std::vector<double> knobs;                           // for devices without snapshots
  std::vector<double> homeostat_memory;                // what the homeostat carries between holds
  std::vector<double> epoch_start_parameters;  // mid-epoch only: for the epoch's change norms
  std::vector<std::uint64_t> order;            // this epoch's sample order
  std::string device_snapshot;                 // the device's exact state, when it offers one
};

// What the run resuming from a checkpoint can take: a manifest naming more is refused before
// anything is read (docs/sessions.md, "Reading a session back").
struct CheckpointLimits {
  std::uint64_t parameters = std::uint64_t(1) << 32;  // values in parameters.f64, epoch_start.f64
  std::uint64_t knobs = std::uint64_t(1) << 32;       // values in knobs.f64
  std::uint64_t homeostat_memory = std::uint64_t(1) << 33;
  std::uint64_t order = std::uint64_t(1) << 32;           // entries of order.u64
  std::uint64_t snapshot_bytes = std::uint64_t(4) << 30;  // device.snapshot
};

class CheckpointStore {
 public:
  // `keep`: how many of the newest checkpoints survive each new one (at least 1).
  CheckpointStore(std::filesystem::path session_dir, std::size_t keep);

  std::filesystem::path folder() const { return root_; }
  // Makes the checkpoints folder (errors name it), so a session that cannot hold checkpoints is
  // refused before it trains.
  void prepare() const;
  // Whether the folder and its disk take checkpoint `c`: as many bytes as its files hold written
  // to one file (not synced) and removed. Throws what the write met (no space, file too large).
  void try_room(const Checkpoint& c) const;
  // Writes checkpoint `c` (its sequence must be new) and prunes the oldest beyond `keep`.
  std::filesystem::path save(const Checkpoint& c);
  // save() in two halves, for a checkpoint synced in one batch with other files: stage() writes
  // its files into `files` under a temporary name (not yet synced); once the caller has synced
  // `files`, publish() renames the checkpoint into place and prunes, as save() does.
  struct Staged {
    std::filesystem::path tmp, final_dir;
  };
  Staged stage(const Checkpoint& c, DurableFiles& files);
  std::filesystem::path publish(const Staged& staged);
  // publish() in parts, for a caller that syncs the folder with other renames in one commit:
  // the rename, then (after syncing folder()) the pruning.
  void rename_into_place(const Staged& staged);
  void prune();
  // The newest checkpoint that reads back whole; damaged ones are skipped with a warning each.
  // A checkpoint whose manifest names more than `limits` counts as damaged.
  std::optional<Checkpoint> load_latest(std::vector<std::string>& warnings,
                                        const CheckpointLimits& limits = {}) const;
  // Sequences of the complete checkpoints on disk, oldest first.
  std::vector<std::uint64_t> sequences() const;

 private:
  std::filesystem::path path_of(std::uint64_t sequence) const;
  Checkpoint load(std::uint64_t sequence, const CheckpointLimits& limits) const;

  std::filesystem::path root_;
  std::size_t keep_;
};

}  // namespace aeqlab
