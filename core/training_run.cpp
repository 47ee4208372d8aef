#include "core/training_run.hpp"

#include <algorithm>
#include <chrono>
#include <numeric>
#include <random>

#include <spdlog/spdlog.h>

#include "core/aeqprop_trainer.hpp"
#include "core/config.hpp"
#include "core/evaluation.hpp"
#include "core/progress.hpp"
#include "core/stop_request.hpp"

namespace aeqlab {

TrainerSettings trainer_settings_from(const nlohmann::json& trainer) {
  ConfigReader r(trainer, "trainer");
  TrainerSettings s;
  s.algorithm = r.one_of("algorithm", {"aeqprop"});
  s.mode = r.one_of("mode", {"optimistic", "pessimistic", "centered"});
  s.nudging = r.in_range("nudging", 1e-12, 10.0);
  s.epochs = r.get<std::size_t>("epochs");
  if (s.epochs == 0) throw ConfigError("trainer.epochs: must be >= 1");
  s.batch_size = r.get<std::size_t>("batch_size");
  if (s.batch_size == 0) throw ConfigError("trainer.batch_size: must be >= 1");
  s.compliance_decay = r.in_range("compliance_decay", 1e-6, 1.0);
  s.homeostat = r.one_of("homeostat", {"auto", "native", "feedback"});
  ConfigReader f(trainer.at("feedback"), "trainer.feedback");
  s.feedback_gain = f.in_range("gain", 1e-6, 2.0);
  s.feedback_tolerance = f.positive("tolerance");
  s.feedback_max_rounds = f.get<std::size_t>("max_rounds");
  if (s.feedback_max_rounds == 0) throw ConfigError("trainer.feedback.max_rounds: must be >= 1");
  s.seed = r.get<std::uint64_t>("seed");
  s.shuffle = r.get<bool>("shuffle");
  s.score_batches = r.get<bool>("score_batches");
  return s;
}

namespace {

struct EpochTally {
  std::size_t samples = 0, errors = 0, settles = 0, unconverged = 0, iterations = 0;
  std::size_t homeostat_rounds = 0;
  double cost = 0.0, seconds = 0.0, settle_seconds = 0.0;
  void add(const HomeostatReport& h) {
    ++settles;
    unconverged += !h.converged;
    iterations += h.settle.iterations;
    homeostat_rounds += h.rounds;
    settle_seconds += h.settle.seconds;
  }
  void add(const SettleReport& s) {
    ++settles;
    unconverged += !s.converged;
    iterations += s.iterations;
    settle_seconds += s.seconds;
  }
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

AeqpropSettings aeqprop_settings(const TrainerSettings& settings) {
  AeqpropSettings aeq;
  aeq.mode = nudging_mode_from(settings.mode);
  aeq.beta = settings.nudging;
  aeq.compliance_decay = settings.compliance_decay;
  aeq.score_batches = settings.score_batches;
  return aeq;
}

}  // namespace

void check_run(const TrainerSettings& settings, const Device& device, const Split& data) {
  const auto& d = device.describe();
  if (data.train.features != d.inputs.count)
    throw ConfigError(fmt::format("data: {} has {} features but {} has {} inputs", data.train.name,
                                  data.train.features, d.model, d.inputs.count));
  if (data.train.classes > d.outputs.count)
    throw ConfigError(fmt::format("data: {} has {} classes but {} has {} outputs", data.train.name,
                                  data.train.classes, d.model, d.outputs.count));
  if (settings.batch_size > d.replicas)
    throw ConfigError(fmt::format("trainer.batch_size: {} exceeds the {} replicas of {}",
                                  settings.batch_size, d.replicas, d.model));
  AeqpropTrainer::require_supported(aeqprop_settings(settings), d);
  (void)make_homeostat(settings.homeostat, device, {});
}

RunResult run_training(const TrainerSettings& settings, Device& device, const Split& data,
                       Session& session) {
  check_run(settings, device, data);
  const auto& d = device.describe();
  const FeedbackSettings feedback{settings.feedback_gain, settings.feedback_tolerance,
                                  settings.feedback_max_rounds};
  auto homeostat = make_homeostat(settings.homeostat, device, feedback);
  AeqpropTrainer trainer(device, *homeostat, aeqprop_settings(settings));

  // Targets are the one-hot code over the device's outputs (a device may have spare outputs).
  Dataset train = data.train, test = data.test;
  train.classes = test.classes = d.outputs.count;

  session.event("run_start", {{"device", d.model},
                              {"train_samples", train.size()},
                              {"test_samples", test.size()},
                              {"epochs", settings.epochs}});

  std::mt19937_64 rng(settings.seed);
  std::vector<std::size_t> order(train.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::vector<double> x, t;
  Progress progress;
  const auto run_t0 = std::chrono::steady_clock::now();
  double train_seconds = 0.0;
  std::size_t trained = 0, epochs_done = 0;
  Evaluation last_test;
  std::string status = "completed", reason;

  try {
    for (std::size_t epoch = 1; epoch <= settings.epochs && !stop_requested(); ++epoch) {
      if (settings.shuffle) std::shuffle(order.begin(), order.end(), rng);
      EpochTally tally;
      progress.start(fmt::format("epoch {}/{}", epoch, settings.epochs), train.size());
      const auto t0 = std::chrono::steady_clock::now();
      for (std::size_t at = 0; at < train.size(); at += settings.batch_size) {
        const std::size_t n = std::min(settings.batch_size, train.size() - at);
        const std::span<const std::size_t> rows(order.data() + at, n);
        gather_batch(train, rows, x, t);
        std::vector<int> labels(n);
        for (std::size_t i = 0; i < n; ++i) labels[i] = train.labels[rows[i]];
        const StepReport step = trainer.step(x, t, labels, n);
        tally.samples += n;
        tally.errors += step.errors;
        tally.cost += step.cost;
        if (step.scored) tally.add(step.scoring);
        tally.add(step.homeostatic);
        tally.add(step.free_knob);
        trained += n;
        progress.update(tally.samples,
                        fmt::format("{:.0f} samples/s", double(tally.samples) / seconds_since(t0)));
        if (stop_requested()) break;
      }
      tally.seconds = seconds_since(t0);
      train_seconds += tally.seconds;
      progress.finish();
      if (stop_requested()) {
        status = "aborted";
        reason = fmt::format("signal {} during epoch {}", stop_signal(), epoch);
        break;
      }
      trainer.end_epoch();
      last_test = evaluate(device, trainer.homeostat(), trainer.parameter_target(), test);
      ++epochs_done;
      const double train_err = tally.samples ? double(tally.errors) / double(tally.samples) : 0.0;
      const std::string running =
          settings.score_batches ? fmt::format("train error {:.2f}% (running), ", 100 * train_err)
                                 : "";
      spdlog::info(
          "epoch {}/{}: {}test error {:.2f}%, {:.0f} samples/s, {} of {} settles unconverged",
          epoch, settings.epochs, running, 100 * last_test.error_rate(),
          double(tally.samples) / tally.seconds, tally.unconverged, tally.settles);
      if (tally.unconverged * 10 > tally.settles)
        spdlog::warn(
            "epoch {}: {} of {} settles did not reach equilibrium; the steps are not the "
            "gradient steps they should be (raise max_iterations or lower the compliance)",
            epoch, tally.unconverged, tally.settles);
      nlohmann::json fields = {
          {"epoch", epoch},
          {"test_error", last_test.error_rate()},
          {"test_cost", last_test.cost},
          {"samples", tally.samples},
          {"seconds", tally.seconds},
          {"samples_per_second", double(tally.samples) / tally.seconds},
          {"settles", tally.settles},
          {"settles_unconverged", tally.unconverged},
          {"settle_iterations_mean",
           tally.settles ? double(tally.iterations) / double(tally.settles) : 0.0},
          {"homeostat_rounds", tally.homeostat_rounds},
          {"settle_seconds", tally.settle_seconds}};
      if (settings.score_batches) {
        fields["train_error_running"] = train_err;
        fields["train_cost_running"] = tally.samples ? tally.cost / double(tally.samples) : 0.0;
      }
      session.event("epoch", std::move(fields));
    }
    if (stop_requested() && status == "completed" && epochs_done < settings.epochs) {
      status = "aborted";
      reason = fmt::format("signal {}", stop_signal());
    }
  } catch (const std::exception& e) {
    progress.finish();
    status = "failed";
    reason = e.what();
    spdlog::error("training stopped: {}", reason);
  }

  try {
    device.safe_state();
  } catch (const std::exception& e) {
    spdlog::error("could not bring {} to its safe state: {}", d.model, e.what());
    if (status == "completed") status = "failed";
    reason += (reason.empty() ? "" : "; ") + std::string("safe state failed: ") + e.what();
  }

  nlohmann::json summary = {
      {"status", status},
      {"device", d.model},
      {"epochs", epochs_done},
      {"train_samples_processed", trained},
      {"samples_per_second", train_seconds > 0 ? double(trained) / train_seconds : 0.0},
      {"train_seconds", train_seconds}};
  if (status == "completed" && epochs_done > 0) {
    // Both errors with the final parameters, so they are comparable with each other.
    const Evaluation final_train =
        evaluate(device, trainer.homeostat(), trainer.parameter_target(), train);
    device.safe_state();
    summary["train_error"] = final_train.error_rate();
    summary["train_cost"] = final_train.cost;
  }
  if (epochs_done > 0) {
    summary["test_error"] = last_test.error_rate();
    summary["test_cost"] = last_test.cost;
  }
  if (!reason.empty()) summary["reason"] = reason;
  summary["wall_seconds"] = seconds_since(run_t0);
  session.event("run_stop", {{"status", status}, {"reason", reason}});
  session.write_json("summary.json", summary);
  return {status, summary};
}

}  // namespace aeqlab
