// Checkpoints on disk: every field read back exactly, the newest kept, half-written folders
// ignored, and a damaged newest checkpoint skipped for the one before it with a warning.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/checkpoint.hpp"
#include "temp_dir.hpp"
#include "test_support.hpp"

using namespace aeqlab;
using ::testing::HasSubstr;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

using test_support::same_bits;

Checkpoint full_checkpoint(std::uint64_t sequence) {
  Checkpoint c;
  c.sequence = sequence;
  c.progress = {{"epochs_done", 2},
                {"position", 96},
                {"rng", "13 42 7"},
                {"train_seconds", 0.1 + 0.2},
                {"tally", {{"samples", 96}, {"cost", 1.0 / 3.0}}},
                {"compliance", {0.5, 0.05}}};
  c.parameters = {0.1 * double(sequence),
                  -0.0,
                  1e-310,
                  -1.0 / 3.0,
                  std::numeric_limits<double>::max(),
                  std::nan("")};
  c.knobs = {1.5, -2.25, 3.0};
  c.homeostat_memory = {0.75, std::numeric_limits<double>::min()};
  c.epoch_start_parameters = {9.0, 8.0, 7.0, 6.0, 5.0, 4.0};
  c.order = {3, 0, 2, 1, std::uint64_t(1) << 40, 0xFFFFFFFFFFFFFFFFull};
  c.device_snapshot = std::string("AEQ\0\0snap\n\0\xff\x80tail", 18);
  return c;
}

void expect_same(const Checkpoint& got, const Checkpoint& want) {
  EXPECT_EQ(got.sequence, want.sequence);
  EXPECT_EQ(got.progress, want.progress);
  EXPECT_TRUE(same_bits(got.parameters, want.parameters));
  EXPECT_TRUE(same_bits(got.knobs, want.knobs));
  EXPECT_TRUE(same_bits(got.homeostat_memory, want.homeostat_memory));
  EXPECT_TRUE(same_bits(got.epoch_start_parameters, want.epoch_start_parameters));
  EXPECT_EQ(got.order, want.order);
  EXPECT_EQ(got.device_snapshot, want.device_snapshot);
}

std::vector<std::string> entries_of(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

TEST(Checkpoint, EveryFieldReadsBackExactly) {
  test_support::TempDir tmp;
  CheckpointStore store(tmp.path(), 2);
  EXPECT_EQ(store.folder(), tmp / "checkpoints");
  const Checkpoint c = full_checkpoint(4);
  ASSERT_EQ(c.device_snapshot.size(), 18u);
  const fs::path dir = store.save(c);
  EXPECT_EQ(dir, tmp / "checkpoints" / "000004");
  EXPECT_EQ(store.sequences(), (std::vector<std::uint64_t>{4}));

  std::vector<std::string> warnings;
  const auto loaded = store.load_latest(warnings);
  EXPECT_TRUE(warnings.empty());
  ASSERT_TRUE(loaded.has_value());
  expect_same(*loaded, c);
}

TEST(Checkpoint, EmptyFieldsStayEmptyAndWriteNoFiles) {
  test_support::TempDir tmp;
  CheckpointStore store(tmp.path(), 1);
  Checkpoint c;
  c.sequence = 0;
  c.progress = {{"epochs_done", 0}};
  c.order = {1, 0};
  const fs::path dir = store.save(c);
  EXPECT_EQ(entries_of(dir), (std::vector<std::string>{"checkpoint.json", "order.u64"}));
  std::vector<std::string> warnings;
  const auto loaded = store.load_latest(warnings);
  ASSERT_TRUE(loaded.has_value());
  expect_same(*loaded, c);
}

TEST(Checkpoint, KeepsOnlyTheNewest) {
  test_support::TempDir tmp;
  CheckpointStore store(tmp.path(), 2);
  for (std::uint64_t s = 0; s < 5; ++s) store.save(full_checkpoint(s));
  EXPECT_EQ(store.sequences(), (std::vector<std::uint64_t>{3, 4}));
  EXPECT_EQ(entries_of(tmp / "checkpoints"), (std::vector<std::string>{"000003", "000004"}));
  std::vector<std::string> warnings;
  const auto loaded = store.load_latest(warnings);
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->sequence, 4u);

  CheckpointStore at_least_one(tmp.path(), 0);  // keep 0 means 1: never none
  at_least_one.save(full_checkpoint(5));
  EXPECT_EQ(at_least_one.sequences(), (std::vector<std::uint64_t>{5}));
}

TEST(Checkpoint, AHalfWrittenFolderIsIgnoredAndReplaced) {
  test_support::TempDir tmp;
  CheckpointStore store(tmp.path(), 3);
  store.save(full_checkpoint(6));
  // A run killed while writing checkpoint 7 leaves its temporary folder behind.
  const fs::path leftover = tmp / "checkpoints" / ".000007.tmp";
  tmp.write("checkpoints/.000007.tmp/checkpoint.json", R"({"format": 1, "sequence": 7,)");
  tmp.write("checkpoints/.000007.tmp/stale-file", "from the killed run");
  EXPECT_EQ(store.sequences(), (std::vector<std::uint64_t>{6}));
  std::vector<std::string> warnings;
  auto loaded = store.load_latest(warnings);
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->sequence, 6u);
  EXPECT_TRUE(warnings.empty()) << warnings.front();

  const Checkpoint seven = full_checkpoint(7);
  store.save(seven);
  EXPECT_FALSE(fs::exists(leftover));
  EXPECT_FALSE(fs::exists(tmp / "checkpoints" / "000007" / "stale-file"));
  EXPECT_EQ(store.sequences(), (std::vector<std::uint64_t>{6, 7}));
  EXPECT_EQ(entries_of(tmp / "checkpoints"), (std::vector<std::string>{"000006", "000007"}));
  loaded = store.load_latest(warnings);
  ASSERT_TRUE(loaded.has_value());
  expect_same(*loaded, seven);
}

TEST(Checkpoint, ADamagedNewestFallsBackToThePreviousWithAWarning) {
  struct Damage {
    const char* what;
    void (*apply)(const fs::path& dir);
  };
  const std::vector<Damage> damages = {
      {"truncated parameters",
       [](const fs::path& dir) { fs::resize_file(dir / "parameters.f64", 5 * sizeof(double)); }},
      {"missing parameters", [](const fs::path& dir) { fs::remove(dir / "parameters.f64"); }},
      {"corrupt manifest",
       [](const fs::path& dir) {
         std::ofstream(dir / "checkpoint.json", std::ios::trunc) << R"({"format": 1, "seq)";
       }},
      {"manifest missing a key",
       [](const fs::path& dir) {
         std::ofstream(dir / "checkpoint.json", std::ios::trunc) << R"({"format": 1})";
       }},
      {"missing manifest", [](const fs::path& dir) { fs::remove(dir / "checkpoint.json"); }},
      {"truncated snapshot",
       [](const fs::path& dir) { fs::resize_file(dir / "device.snapshot", 3); }},
      {"truncated order", [](const fs::path& dir) { fs::resize_file(dir / "order.u64", 12); }},
  };
  for (const auto& damage : damages) {
    SCOPED_TRACE(damage.what);
    test_support::TempDir tmp;
    CheckpointStore store(tmp.path(), 3);
    const Checkpoint previous = full_checkpoint(1);
    store.save(previous);
    const fs::path newest = store.save(full_checkpoint(2));
    damage.apply(newest);

    std::vector<std::string> warnings;
    const auto loaded = store.load_latest(warnings);
    ASSERT_TRUE(loaded.has_value());
    expect_same(*loaded, previous);
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_THAT(warnings[0], HasSubstr(newest.string()));
    EXPECT_THAT(warnings[0], HasSubstr("damaged"));
  }
}

TEST(Checkpoint, AllDamagedOrNoneGivesNothing) {
  test_support::TempDir tmp;
  CheckpointStore store(tmp.path(), 2);
  std::vector<std::string> warnings;
  EXPECT_FALSE(store.load_latest(warnings).has_value()) << "no checkpoints folder at all";
  EXPECT_TRUE(warnings.empty());
  EXPECT_TRUE(store.sequences().empty());

  fs::create_directories(tmp / "checkpoints");
  EXPECT_FALSE(store.load_latest(warnings).has_value()) << "an empty checkpoints folder";
  EXPECT_TRUE(warnings.empty());

  store.save(full_checkpoint(0));
  store.save(full_checkpoint(1));
  for (const auto& entry : fs::directory_iterator(tmp / "checkpoints"))
    fs::resize_file(entry.path() / "parameters.f64", 1);
  EXPECT_FALSE(store.load_latest(warnings).has_value());
  EXPECT_EQ(warnings.size(), 2u);
}
