// Fuzz target: the config loader (core/config): any text as a config file, checked against a
// schema shaped like the default config, merged, and read as counts, seeds, reals and lists; and
// the same text as a --set assignment. Everything is taken or refused with a ConfigError.
// docs/fuzzing.md.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/error.hpp"

namespace {

const nlohmann::json& schema() {
  static const nlohmann::json s = nlohmann::json::parse(R"({
    "device": {"type": "hopfield", "layers": [2, 4, 2], "compliance": {"weights": [0.1]}},
    "trainer": {"epochs": 30, "batch_size": 32, "seed": 1, "nudging": 0.5,
                "feedback": {"gain": 1.0, "max_rounds": 100}, "learning_rates": 0.05},
    "session": {"root": "sessions", "name": ""}})");
  return s;
}

void read_trainer(const nlohmann::json& trainer) {
  if (!trainer.is_object()) return;
  const aeqlab::ConfigReader r(trainer, "trainer");
  for (const char* key : {"epochs", "batch_size"})
    if (trainer.contains(key) && r.get<std::size_t>(key) > aeqlab::kMaxCount) __builtin_trap();
  if (trainer.contains("seed")) (void)r.seed("seed");
  if (trainer.contains("nudging")) (void)r.in_range("nudging", 1e-12, 10.0);
  if (trainer.contains("feedback") && trainer["feedback"].is_object()) {
    const aeqlab::ConfigReader f(trainer["feedback"], "trainer.feedback");
    if (trainer["feedback"].contains("max_rounds")) (void)f.count("max_rounds", 1, 1000000);
    if (trainer["feedback"].contains("gain")) (void)f.positive("gain");
  }
}

void read_device(const nlohmann::json& device) {
  if (!device.is_object()) return;
  const aeqlab::ConfigReader r(device, "device");
  if (device.contains("layers")) (void)r.get<std::vector<std::size_t>>("layers");
  if (device.contains("compliance") && device["compliance"].is_object() &&
      device["compliance"].contains("weights"))
    (void)aeqlab::ConfigReader(device["compliance"], "device.compliance")
        .get<std::vector<double>>("weights");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const auto given = aeqlab::parse_json_text(text, "fuzz.json");
    aeqlab::require_known_keys(given, schema(), "", {"device", "trainer.learning_rates"});
    auto config = schema();
    aeqlab::merge_config(config, given);
    read_trainer(config["trainer"]);
    read_device(config["device"]);
    (void)config.dump();
  } catch (const aeqlab::ConfigError&) {
  }
  try {
    auto config = schema();
    aeqlab::apply_setting(config, text);
    read_trainer(config["trainer"]);
    read_device(config["device"]);
  } catch (const aeqlab::ConfigError&) {
  }
  return 0;
}
