#pragma once
// Files written now and synced to the disk together later, so the file system can commit them
// in one go rather than file by file. A checkpoint's files are one such batch; at the end of a run
// the last checkpoint, the final parameters and metrics.csv share one (docs/sessions.md, "What
// checkpoints cost").

#include <filesystem>
#include <string_view>
#include <vector>

namespace aeqlab {

class DurableFiles {
 public:
  DurableFiles() = default;
  DurableFiles(const DurableFiles&) = delete;
  DurableFiles& operator=(const DurableFiles&) = delete;
  ~DurableFiles();

  // Creates (or truncates) `file` and writes `bytes` to it; not yet synced.
  void write(const std::filesystem::path& file, std::string_view bytes);
  // Every file written since the last call on the disk, then closed (errors name the file).
  void sync_all();

 private:
  struct Open {
    int fd;
    std::filesystem::path file;
  };
  std::vector<Open> open_;
};

}  // namespace aeqlab
