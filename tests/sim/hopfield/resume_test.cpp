// Stop and resume in-process, the counterpart of the program's kill-and-resume test: a run on the
// simulated Hopfield device, interrupted after some step (or failed, or stopped while it
// evaluates), resumed on a fresh device from the session's checkpoints, ends bit for bit where
// the uninterrupted run ends, with the same metrics.csv apart from its timings.

#include <algorithm>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "../../core/forwarding_device.hpp"
#include "../../core/temp_dir.hpp"
#include "../../core/test_support.hpp"
#include "core/error.hpp"
#include "core/session.hpp"
#include "core/stop_request.hpp"
#include "core/toy_tasks.hpp"
#include "core/training_run.hpp"
#include "sim/hopfield/hopfield_device.hpp"

using namespace aeqlab;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr std::size_t kBatch = 8;
constexpr std::size_t kSamples = 42;  // 5 full batches and one of 2 per epoch
constexpr std::size_t kStepsPerEpoch = 6;
constexpr std::size_t kEpochs = 3;

// The device of docs/examples/feedback-homeostat.json: small compliances, so the feedback
// homeostat converges.
sim::HopfieldSpec moons_device(bool double_precision, std::uint64_t seed = 1) {
  sim::HopfieldSpec s;
  s.layers = {2, 16, 2};
  s.gains = {4.0, 1.0};
  s.weight_compliance = {0.3, 0.03};
  s.bias_compliance = {0.2, 0.02};
  s.replicas = kBatch;
  s.seed = seed;
  s.double_precision = double_precision;
  return s;
}

// "feedback" is the secant homeostat with trainer.feedback.probe "auto" (its tuning is in the
// checkpoint); "feedback, probe off" the secant rounds alone.
TrainerSettings trainer(const std::string& homeostat) {
  TrainerSettings t;
  t.epochs = kEpochs;
  t.batch_size = kBatch;
  t.compliance_decay = 0.95;  // the compliances move every epoch: they must come back too
  t.homeostat = homeostat == "feedback, probe off" ? "feedback" : homeostat;
  t.feedback_probe_auto = homeostat != "feedback, probe off";
  t.feedback_gain = 1.0;
  t.feedback_tolerance = 1e-6;
  t.feedback_max_rounds = 100;
  t.seed = 5;
  return t;
}

const Split& moons() {
  static const Split data = two_moons(kSamples, 0.1, 3);
  return data;
}

// Forwards everything to the device; at a chosen point raises SIGINT (as Ctrl-C would) or throws
// a device fault. Steps are counted by their free-knob phase: the settle under positive nudging.
class Interrupter final : public test_devices::ForwardingDevice {
 public:
  enum class Act {
    interrupt_after_step,     // SIGINT during step N: the run stops once that step is done
    interrupt_in_evaluation,  // SIGINT at the first zero-nudge settle after step N
    fault_after_step,         // a device fault at the first settle after step N
  };
  Interrupter(Device& inner, Act act, std::size_t step)
      : ForwardingDevice(inner), act_(act), step_(step) {}

  bool acted() const { return acted_; }

 private:
  void do_set_nudge(double beta, std::span<const double> t) override {
    beta_ = beta;
    inner_.set_nudge(beta, t);
  }
  SettleReport do_settle() override {
    before_settle();
    const SettleReport r = inner_.settle();
    if (beta_ > 0) ++steps_;
    after_settle();
    return r;
  }
  SettleReport do_settle_homeostatic() override {
    before_settle();
    const SettleReport r = inner_.settle_homeostatic();
    after_settle();
    return r;
  }

  void before_settle() {
    if (act_ == Act::fault_after_step && steps_ == step_ && !acted_) {
      acted_ = true;
      throw DeviceError("moons: the bench lost power");
    }
  }
  void after_settle() {
    if (acted_) return;
    const bool now = act_ == Act::interrupt_after_step
                         ? steps_ == step_
                         : act_ == Act::interrupt_in_evaluation && steps_ == step_ && beta_ == 0;
    if (now) {
      acted_ = true;
      std::raise(SIGINT);
    }
  }

  Act act_;
  std::size_t step_;
  std::size_t steps_ = 0;
  double beta_ = 0.0;
  bool acted_ = false;
};

using test_support::parameters_of;

using test_support::same_bits;

std::string read_bytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<std::vector<std::string>> read_csv(const fs::path& file) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream text(read_bytes(file));
  std::string line;
  while (std::getline(text, line)) {
    std::vector<std::string> cells;
    std::string cell;
    std::istringstream fields(line);
    while (std::getline(fields, cell, ',')) cells.push_back(cell);
    if (!line.empty() && line.back() == ',') cells.push_back("");
    rows.push_back(cells);
  }
  return rows;
}

// metrics.csv of `got` against `want`: the same rows, and the same cells in every column but the
// ones that measure time.
void expect_same_metrics(const fs::path& got, const fs::path& want) {
  const auto a = read_csv(got), b = read_csv(want);
  ASSERT_EQ(a.size(), b.size()) << "rows of metrics.csv";
  ASSERT_EQ(a.size(), kEpochs + 1);
  ASSERT_EQ(a[0], b[0]) << "header";
  const std::set<std::string> timing = {"samples_per_second", "epoch_seconds", "settle_seconds",
                                        "unix_seconds"};
  for (const char* column : {"epoch", "train_error_running", "train_cost_running", "test_error",
                             "test_cost", "compliance_W0", "rms_W0", "change_rms_W1"})
    EXPECT_NE(std::find(a[0].begin(), a[0].end(), column), a[0].end()) << column;
  auto untimed = [&](const std::vector<std::string>& row) {
    std::vector<std::string> kept;
    for (std::size_t c = 0; c < row.size(); ++c)
      if (!timing.count(a[0][c])) kept.push_back(a[0][c] + "=" + row[c]);
    return kept;
  };
  for (std::size_t r = 1; r < a.size(); ++r) {
    ASSERT_EQ(a[r].size(), a[0].size()) << "row " << r;
    ASSERT_EQ(b[r].size(), a[0].size()) << "row " << r;
    EXPECT_EQ(untimed(a[r]), untimed(b[r])) << "metrics.csv, epoch " << r;
  }
}

struct Reference {
  RunResult result;
  std::vector<double> parameters;
  fs::path dir;
};

// The uninterrupted run.
Reference reference_run(const fs::path& dir, const std::string& homeostat, bool dp) {
  sim::HopfieldDevice device(moons_device(dp));
  Reference ref;
  ref.dir = dir;
  {
    Session session(dir);
    ref.result = run_training(trainer(homeostat), test_support::every_three_steps(), device,
                              moons(), session);
  }
  ref.parameters = parameters_of(device);
  return ref;
}

struct Case {
  const char* what;
  Interrupter::Act act;
  std::size_t step;
  std::uint64_t checkpoint;  // the one the resumed run must start from
};

// Runs until the interrupter acts, then resumes on a fresh device; checks the end against `ref`.
void expect_resume_matches(const Reference& ref, const fs::path& dir, const std::string& homeostat,
                           bool dp, const Case& c) {
  const Interrupter::Act act = c.act;
  const std::size_t step = c.step;
  {
    sim::HopfieldDevice device(moons_device(dp));
    Interrupter interrupter(device, act, step);
    install_stop_handlers();
    RunResult first;
    {
      Session session(dir);
      first = run_training(trainer(homeostat), test_support::every_three_steps(), interrupter,
                           moons(), session);
    }
    clear_stop_request();
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
    ASSERT_TRUE(interrupter.acted()) << "the run ended before the interruption";
    // Whatever stopped it, the simulated device itself was brought to its safe state.
    EXPECT_GE(device.safe_state_count(), 1u);
    if (act == Interrupter::Act::fault_after_step) {
      ASSERT_EQ(first.status, "failed") << first.summary.dump();
      // Killed in the middle of writing an event line, as well.
      std::ofstream(dir / "events.jsonl", std::ios::app) << R"({"event":"step","time":"20)";
    } else {
      ASSERT_EQ(first.status, "aborted") << first.summary.dump();
    }
    ASSERT_LT(first.summary["epochs"].get<std::size_t>(), kEpochs);
  }

  // Another seed: whatever the fresh device starts from, the checkpoint's snapshot decides.
  sim::HopfieldDevice fresh(moons_device(dp, 77));
  RunResult resumed;
  {
    Session session(dir, Session::Reopen{});
    resumed = run_training(trainer(homeostat), test_support::every_three_steps(), fresh, moons(),
                           session, true);
  }
  ASSERT_EQ(resumed.status, "completed") << resumed.summary.dump();
  EXPECT_EQ(resumed.summary["segments"], 2);
  for (const char* key : {"parameters_sha256", "epochs", "steps", "train_samples_processed",
                          "test_error", "test_cost", "train_error", "train_cost"})
    EXPECT_EQ(resumed.summary[key], ref.result.summary[key]) << key;
  EXPECT_TRUE(same_bits(parameters_of(fresh), ref.parameters)) << "parameters";
  EXPECT_TRUE(read_bytes(dir / "parameters.f64") == read_bytes(ref.dir / "parameters.f64"));
  expect_same_metrics(dir / "metrics.csv", ref.dir / "metrics.csv");
  std::ifstream log(dir / "events.jsonl");
  std::string line;
  json resume;
  while (std::getline(log, line)) {
    json event;
    ASSERT_NO_THROW(event = json::parse(line)) << line;
    if (event["event"] == "resume") resume = event;
  }
  ASSERT_TRUE(resume.is_object()) << "no resume event";
  EXPECT_EQ(resume["checkpoint"], c.checkpoint);
}

void expect_resumes_match(const std::string& homeostat, bool dp, const std::vector<Case>& cases) {
  test_support::TempDir tmp;
  const Reference ref = reference_run(tmp / "reference", homeostat, dp);
  ASSERT_EQ(ref.result.status, "completed");
  ASSERT_TRUE(ref.result.summary.contains("parameters_sha256"));
  for (std::size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(cases[i].what);
    expect_resume_matches(ref, tmp / ("run" + std::to_string(i)), homeostat, dp, cases[i]);
  }
}

// spdlog's per-epoch lines would bury the test output.
class Resume : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    level_ = spdlog::get_level();
    spdlog::set_level(spdlog::level::err);
  }
  void TearDown() override { spdlog::set_level(level_); }
  bool double_precision() const { return GetParam(); }

 private:
  spdlog::level::level_enum level_ = spdlog::level::info;
};

}  // namespace

// Checkpoints: 0 at the start, then every 3 steps and at every epoch's end (after its
// evaluation), and one more when a stop request is honoured after a step.
using Act = Interrupter::Act;

TEST_P(Resume, NativeHomeostasisContinuesBitForBit) {
  expect_resumes_match(
      "native", double_precision(),
      {
          {"mid-epoch, one step after a periodic checkpoint", Act::interrupt_after_step, 4, 2},
          {"at the last step of the epoch", Act::interrupt_after_step, kStepsPerEpoch, 2},
          {"in the evaluation at the epoch's end", Act::interrupt_in_evaluation, kStepsPerEpoch, 3},
          {"mid second epoch", Act::interrupt_after_step, kStepsPerEpoch + 2, 4},
          {"a fault two steps after a periodic checkpoint", Act::fault_after_step, 11, 4},
          {"a fault before the first periodic checkpoint", Act::fault_after_step, 1, 0},
      });
}

TEST_P(Resume, TheFeedbackHomeostatContinuesBitForBit) {
  expect_resumes_match(
      "feedback", double_precision(),
      {
          {"mid-epoch", Act::interrupt_after_step, 5, 2},
          {"at the last step of the second epoch", Act::interrupt_after_step, 2 * kStepsPerEpoch,
           5},
          {"a fault before the first periodic checkpoint", Act::fault_after_step, 2, 0},
      });
}

TEST_P(Resume, TheSecantHomeostatWithoutTheProbeContinuesBitForBit) {
  expect_resumes_match("feedback, probe off", double_precision(),
                       {{"mid-epoch", Act::interrupt_after_step, 5, 2}});
}

// The plain proportional loop (trainer.homeostat "feedback-proportional") keeps only its knobs.
TEST_P(Resume, TheProportionalFeedbackHomeostatContinuesBitForBit) {
  expect_resumes_match("feedback-proportional", double_precision(),
                       {{"mid-epoch", Act::interrupt_after_step, 5, 2}});
}

// From the checkpoint written at an epoch's end, after the evaluation: the feedback homeostat
// must hold the parameters where the interrupted run held them (its target from the last step),
// not where the evaluation's holds left them.
TEST_P(Resume, TheFeedbackHomeostatContinuesFromAnEpochsEndBitForBit) {
  expect_resumes_match(
      "feedback", double_precision(),
      {
          {"in the evaluation at the epoch's end", Act::interrupt_in_evaluation, kStepsPerEpoch, 3},
          {"a fault two steps after the epoch's checkpoint", Act::fault_after_step, 8, 3},
      });
}

INSTANTIATE_TEST_SUITE_P(Precisions, Resume, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return std::string(info.param ? "float64" : "float32");
                         });
