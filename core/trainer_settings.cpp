#include "core/trainer_settings.hpp"

#include "core/config.hpp"
#include "core/error.hpp"
#include "core/learning_rule.hpp"

namespace aeqlab {

static std::vector<double> learning_rates_from(const nlohmann::json& j) {
  const std::string key = "trainer.learning_rates";
  std::vector<double> rates;
  if (j.is_number()) {
    rates.push_back(j.get<double>());
  } else if (j.is_array() && !j.empty()) {
    for (const auto& e : j) {
      if (!e.is_number())
        throw ConfigError(fmt::format("{}: expected numbers, got {}", key, j.dump()));
      rates.push_back(e.get<double>());
    }
  } else {
    throw ConfigError(fmt::format(
        "{}: expected a number or an array of numbers (one per parameter group), got {}", key,
        j.dump()));
  }
  for (const double r : rates)
    if (!(r >= 0 && r <= 1e12))
      throw ConfigError(fmt::format("{}: every rate must lie in [0, 1e12], got {}", key, r));
  return rates;
}

TrainerSettings trainer_settings_from(const nlohmann::json& trainer) {
  ConfigReader r(trainer, "trainer");
  TrainerSettings s;
  std::vector<std::string> names;
  for (const auto& rule : learning_rules()) names.push_back(rule.name);
  s.algorithm = r.one_of("algorithm", names);
  s.mode = r.one_of("mode", {"optimistic", "pessimistic", "centered"});
  s.nudging = r.in_range("nudging", 1e-12, 10.0);
  s.epochs = r.get<std::size_t>("epochs");
  if (s.epochs == 0) throw ConfigError("trainer.epochs: must be >= 1");
  s.batch_size = r.get<std::size_t>("batch_size");
  if (s.batch_size == 0) throw ConfigError("trainer.batch_size: must be >= 1");
  s.compliance_decay = r.in_range("compliance_decay", 1e-6, 1.0);
  s.homeostat =
      r.one_of("homeostat", {"auto", "native", "feedback", "feedback-proportional", "none"});
  ConfigReader f(trainer.at("feedback"), "trainer.feedback");
  s.feedback_gain = f.in_range("gain", 1e-6, 2.0);
  s.feedback_tolerance = f.positive("tolerance");
  // In parameter units, as session.restore.tolerance (docs/config-reference.md).
  require_range(f.path("tolerance"), s.feedback_tolerance, 0.0, 1e9, "");
  s.feedback_max_rounds = f.get<std::size_t>("max_rounds");
  if (s.feedback_max_rounds == 0) throw ConfigError("trainer.feedback.max_rounds: must be >= 1");
  s.feedback_memory = f.get<std::size_t>("memory");
  if (s.feedback_memory > 50) throw ConfigError("trainer.feedback.memory: must be <= 50");
  s.feedback_limit = f.one_of("limit", {"warn", "refuse", "scale"});
  // "auto" (the ratio chosen by measurement), "off", or a ratio that forces it.
  const auto& probe = trainer.at("feedback").at("probe");
  s.feedback_probe_auto = probe.is_string() && probe.get<std::string>() == "auto";
  if (probe.is_string()) {
    f.one_of("probe", {"auto", "off"});
    s.feedback_probe = 0.0;
  } else {
    s.feedback_probe = f.in_range("probe", 0.0, 1e12);
  }
  s.seed = r.seed("seed");
  s.shuffle = r.get<bool>("shuffle");
  s.score_batches = r.get<bool>("score_batches");

  if (!trainer.contains("learning_rates")) throw ConfigError("trainer.learning_rates: missing key");
  s.learning_rates = learning_rates_from(trainer.at("learning_rates"));
  s.learning_rate_decay = r.in_range("learning_rate_decay", 1e-6, 1.0);
  for (const auto& rule : learning_rules())
    if (rule.read_section) rule.read_section(trainer, s);
  return s;
}

}  // namespace aeqlab
