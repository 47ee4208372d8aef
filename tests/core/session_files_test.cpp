// Reading a session folder back, bounded (core/session_files, and its users core/checkpoint and
// core/session_catalog): every file checked for size, every JSON for depth, every line read up to
// a limit, every count against what the run can hold; each refusal names the file (and key or
// line), none crashes or asks for unbounded memory (docs/sessions.md, "Reading a session back").
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/checkpoint.hpp"
#include "core/error.hpp"
#include "core/printable.hpp"
#include "core/session_catalog.hpp"
#include "core/session_files.hpp"
#include "temp_dir.hpp"

using namespace aeqlab;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

namespace {

std::string nested(std::size_t depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

std::string joined(const std::vector<std::string>& warnings) {
  std::string all;
  for (const auto& w : warnings) all += w + "\n";
  return all;
}

// A whole checkpoint 1 (two parameters, an order of two) whose manifest `edit` may change.
fs::path write_checkpoint(const test_support::TempDir& tmp, const std::string& manifest) {
  const fs::path dir = tmp / "checkpoints" / "000001";
  tmp.write("checkpoints/000001/checkpoint.json", manifest);
  tmp.write("checkpoints/000001/parameters.f64", std::string(16, '\0'));
  tmp.write("checkpoints/000001/order.u64", std::string(16, '\0'));
  return dir / "checkpoint.json";
}

std::string manifest(const std::string& parameters = "2", const std::string& progress = "{}") {
  return R"({"format":1,"sequence":1,"progress":)" + progress + R"(,"parameters":)" + parameters +
         R"(,"knobs":0,"homeostat_memory":0,"epoch_start_parameters":0,"order":2,)"
         R"("device_snapshot":0})";
}

}  // namespace

TEST(SessionFiles, AJsonFileNestedTooDeepIsRefusedNamingIt) {
  test_support::TempDir tmp;
  const auto file = tmp.write("summary.json", R"({"status":)" + nested(70000) + "}");
  try {
    (void)read_session_json(file);
    FAIL() << "a 70,000-deep file was parsed";
  } catch (const DataError& e) {
    EXPECT_THAT(e.what(), HasSubstr(file.string() + ":1: nested deeper than 64 levels"));
  }
}

TEST(SessionFiles, AFileLargerThanItsKindMayBeIsNotRead) {
  test_support::TempDir tmp;
  const auto file = tmp.write("config.json", "{}");
  fs::resize_file(file, kMaxSessionJsonBytes + 1);  // sparse: nothing written, nothing to read
  try {
    (void)read_session_json(file);
    FAIL() << "a file beyond the limit was read";
  } catch (const DataError& e) {
    EXPECT_THAT(e.what(), HasSubstr(file.string()));
    EXPECT_THAT(e.what(), HasSubstr("not read"));
  }
}

TEST(SessionFiles, ValuesAreCheckedAgainstTheFileSizeBeforeAnythingIsAllocated) {
  test_support::TempDir tmp;
  const auto file = tmp.write("parameters.f64", std::string(16, '\0'));
  EXPECT_EQ(read_session_values<double>(file, 2).size(), 2u);
  // 2^61 values of 8 bytes wrap around to 0 bytes in 64 bits: refused, not allocated.
  EXPECT_THROW((void)read_session_values<double>(file, std::uint64_t(1) << 61), DataError);
  EXPECT_THROW((void)read_session_values<double>(file, std::uint64_t(1) << 62), DataError);
  try {
    (void)read_session_values<double>(file, 3);
    FAIL();
  } catch (const DataError& e) {
    EXPECT_THAT(e.what(), HasSubstr(file.string() + ": 16 bytes, expected 24"));
  }
}

TEST(SessionFiles, ALineLongerThanTheLimitIsSkippedWithoutBeingHeld) {
  test_support::TempDir tmp;
  const auto file = tmp.write("events.jsonl", "short\n" + std::string(100, 'x') + "\nlast");
  SessionLines lines(file, 10);
  std::string line;
  bool too_long = false, unterminated = false;
  ASSERT_TRUE(lines.next(line, too_long, unterminated));
  EXPECT_EQ(line, "short");
  ASSERT_TRUE(lines.next(line, too_long, unterminated));
  EXPECT_TRUE(too_long);
  EXPECT_TRUE(line.empty());
  EXPECT_EQ(lines.number(), 2u);
  ASSERT_TRUE(lines.next(line, too_long, unterminated));
  EXPECT_EQ(line, "last");
  EXPECT_TRUE(unterminated);
  EXPECT_FALSE(lines.next(line, too_long, unterminated));
}

TEST(SessionFiles, ACheckpointCountBeyondTheRunsLimitIsRefusedNamingFileAndKey) {
  test_support::TempDir tmp;
  // 2^61 doubles would be 0 bytes after an unchecked multiplication: the file of 16 bytes is not
  // taken for them, nor is a vector of 2^61 values asked for.
  const auto file = write_checkpoint(tmp, manifest("2305843009213693952"));
  std::vector<std::string> warnings;
  EXPECT_FALSE(CheckpointStore(tmp.path(), 2).load_latest(warnings).has_value());
  EXPECT_THAT(joined(warnings), HasSubstr(file.string() + ": parameters: 2305843009213693952"));
  warnings.clear();
  write_checkpoint(tmp, manifest("2"));
  EXPECT_FALSE(CheckpointStore(tmp.path(), 2).load_latest(warnings, {.parameters = 1}).has_value());
  EXPECT_THAT(joined(warnings), HasSubstr(file.string() + ": parameters: 2 is more than the 1"));
  warnings.clear();
  EXPECT_TRUE(CheckpointStore(tmp.path(), 2).load_latest(warnings, {.parameters = 2}).has_value())
      << joined(warnings);
}

TEST(SessionFiles, ACheckpointCountOfTheWrongTypeIsNamed) {
  test_support::TempDir tmp;
  const auto file = write_checkpoint(tmp, manifest("\"two\""));
  std::vector<std::string> warnings;
  EXPECT_FALSE(CheckpointStore(tmp.path(), 2).load_latest(warnings).has_value());
  EXPECT_THAT(joined(warnings), HasSubstr(file.string() + ": parameters: expected a count"));
  write_checkpoint(tmp, manifest("-2"));
  warnings.clear();
  EXPECT_FALSE(CheckpointStore(tmp.path(), 2).load_latest(warnings).has_value());
  EXPECT_THAT(joined(warnings), HasSubstr(file.string() + ": parameters: expected a count"));
}

TEST(SessionFiles, ACheckpointNestedTooDeepIsDamagedNotACrash) {
  test_support::TempDir tmp;
  const auto file = write_checkpoint(tmp, manifest("2", R"({"x":)" + nested(100000) + "}"));
  std::vector<std::string> warnings;
  EXPECT_FALSE(CheckpointStore(tmp.path(), 2).load_latest(warnings).has_value());
  EXPECT_THAT(joined(warnings), HasSubstr(file.string() + ":1: nested deeper than 64 levels"));
}

TEST(SessionFiles, ACheckpointFolderNamedBeyondA64BitNumberIsNoCheckpoint) {
  test_support::TempDir tmp;
  fs::create_directories(tmp / "checkpoints" / "99999999999999999999999");  // stoull threw here
  write_checkpoint(tmp, manifest());
  EXPECT_EQ(CheckpointStore(tmp.path(), 2).sequences(), (std::vector<std::uint64_t>{1}));
}

TEST(SessionFiles, TheSessionListingSkipsDeepAndEndlessLinesNamingThem) {
  test_support::TempDir tmp;
  const std::string start =
      R"({"event":"run_start","time":"2026-12-01T10:00:00.000Z","device":"d","epochs":2})";
  tmp.write("run/events.jsonl", start + "\n" + R"({"event":"epoch","x":)" + nested(70000) + "}\n" +
                                    R"({"event":"epoch","test_error":0.5})" + "\n" +
                                    std::string(kMaxEventLineBytes + 10, ' ') + "x\n");
  tmp.write("run/summary.json", R"({"status":)" + nested(70000) + "}");
  tmp.write("run/config.json", R"({"session":)" + nested(70000) + "}");
  const SessionInfo s = read_session_info(tmp / "run");
  const std::string w = joined(s.warnings);
  const std::string events = (tmp / "run/events.jsonl").string();
  EXPECT_THAT(w, HasSubstr(events + ":2: nested deeper than 64 levels; skipped"));
  EXPECT_THAT(w, HasSubstr(events + ":4: longer than"));
  EXPECT_THAT(w, HasSubstr((tmp / "run/summary.json").string() + ":1: nested deeper"));
  EXPECT_THAT(w, HasSubstr((tmp / "run/config.json").string() + ":1: nested deeper"));
  EXPECT_EQ(s.epochs_done, 1u);
  EXPECT_EQ(s.device, "d");
}

TEST(SessionFiles, TheSessionListingTakesNoSummaryOfWrongTypes) {
  test_support::TempDir tmp;
  tmp.write("run/events.jsonl",
            R"({"event":"run_start","time":"2026-12-01T10:00:00.000Z","epochs":-1})"
            "\n");
  tmp.write("run/summary.json", R"({"status":5,"epochs":"x","test_error":"y"})");
  const SessionInfo s = read_session_info(tmp / "run");
  EXPECT_EQ(s.status, RunStatus::interrupted);
  EXPECT_EQ(s.epochs_total, 0u);
  EXPECT_THAT(joined(s.warnings), HasSubstr("summary.json: no \"status\""));
}

// Found by the session_files fuzz target: a summary.json whose bytes are not UTF-8 made the
// warning quoting them throw when the listing was written as JSON (`aeqlab sessions --json`).
TEST(SessionFiles, WarningsQuotingAFilesBytesAreText) {
  test_support::TempDir tmp;
  tmp.write("run/summary.json", "{\"status\":5,\"test_e\xf2ror\":\"\x1b[31m\"}");
  tmp.write("run/events.jsonl", "\x1b]0;owned\x07\n");
  const SessionInfo s = read_session_info(tmp / "run");
  ASSERT_FALSE(s.warnings.empty());
  EXPECT_NO_THROW((void)to_json(s).dump());
  for (const auto& w : s.warnings) EXPECT_EQ(w.find('\x1b'), std::string::npos) << w;
}

TEST(SessionFiles, PrintableKeepsUtf8AndEscapesTheRest) {
  EXPECT_EQ(printable("caf\xc3\xa9 \xe2\x82\xac"), "caf\xc3\xa9 \xe2\x82\xac");
  EXPECT_EQ(printable("a\x1b[0m\xf2\x7f\n"), "a\\x1b[0m\\xf2\\x7f\\x0a");
  EXPECT_EQ(printable("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // a surrogate is not UTF-8
}
