// Fuzz target: the readers of a session folder's files (core/session_files, core/checkpoint,
// core/session_catalog, core/run_progress): what `train --resume`, `sessions` and `eval` read
// back. The first byte picks the file, the rest is its content, written to a real session folder
// and read as the program reads it. Every damaged file is a warning or a DataError naming it;
// nothing crashes, and no checkpoint beyond its limits is taken. docs/fuzzing.md.

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "core/checkpoint.hpp"
#include "core/error.hpp"
#include "core/run_progress.hpp"
#include "core/session_catalog.hpp"
#include "core/session_files.hpp"

namespace {

namespace fs = std::filesystem;

// One folder per process, in memory where the system has it (fast), removed at exit.
const fs::path& folder() {
  static const struct Folder {
    fs::path path;
    Folder() {
      std::error_code ec;
      const fs::path base =
          fs::is_directory("/dev/shm", ec) ? fs::path("/dev/shm") : fs::temp_directory_path();
      path = base / ("aeqlab-fuzz-session-" + std::to_string(::getpid()));
      fs::create_directories(path / "checkpoints" / "000003");
    }
    ~Folder() {
      std::error_code ec;
      fs::remove_all(path, ec);
    }
  } f;
  return f.path;
}

void put(const fs::path& file, std::string_view bytes) {
  std::ofstream(file, std::ios::binary | std::ios::trunc)
      .write(bytes.data(), std::streamsize(bytes.size()));
}

const char* const kFiles[] = {"events.jsonl", "summary.json", "config.json"};
const char* const kValues[] = {"parameters.f64",  "knobs.f64", "homeostat.f64",
                               "epoch_start.f64", "order.u64", "device.snapshot"};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const fs::path& dir = folder();
  const fs::path checkpoint = dir / "checkpoints" / "000003";
  const std::string_view content(reinterpret_cast<const char*>(data) + 1, size - 1);
  const unsigned kind = data[0] % 4;
  std::error_code ec;
  for (const char* f : kFiles) fs::remove(dir / f, ec);
  if (kind < 3) {
    // One of the files `aeqlab sessions` reads; the others absent.
    put(dir / kFiles[kind], content);
    const auto info = aeqlab::read_session_info(dir);
    (void)aeqlab::to_json(info).dump();
    return 0;
  }
  // A checkpoint: its manifest up to the first NUL, what follows is every value file.
  const auto nul = content.find('\0');
  const std::string_view manifest = content.substr(0, nul);
  const std::string_view values =
      nul == std::string_view::npos ? std::string_view() : content.substr(nul + 1);
  put(checkpoint / "checkpoint.json", manifest);
  for (const char* f : kValues) put(checkpoint / f, values);
  const aeqlab::CheckpointLimits limits{
      .parameters = 64, .knobs = 64, .homeostat_memory = 128, .order = 64, .snapshot_bytes = 4096};
  std::vector<std::string> warnings;
  const auto c = aeqlab::CheckpointStore(dir, 2).load_latest(warnings, limits);
  if (!c) return 0;
  if (c->parameters.size() > limits.parameters || c->knobs.size() > limits.knobs ||
      c->order.size() > limits.order || c->device_snapshot.size() > limits.snapshot_bytes)
    __builtin_trap();  // a limit was not kept
  try {
    (void)aeqlab::run_progress_from(c->progress);
  } catch (const aeqlab::DataError&) {
  }
  return 0;
}
