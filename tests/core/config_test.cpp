// Configuration: the default, a file and --set overrides resolve in that order, and every bad
// input is refused with an error that names the file, the line or the dotted key.
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/config.hpp"
#include "core/coupled_learning_trainer.hpp"
#include "core/error.hpp"
#include "core/spsa_trainer.hpp"
#include "core/training_run.hpp"
#include "temp_dir.hpp"

using namespace aeqlab;
using ::testing::HasSubstr;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

// The program's own default config, as shipped in the repository.
const json& defaults() {
  static const json d =
      read_json_file(fs::path(AEQLAB_SOURCE_DIR) / "core" / "cli" / "default_config.json");
  return d;
}

class ConfigFiles : public ::testing::Test {
 protected:
  fs::path write(const std::string& name, const std::string& text) {
    return dir_.write(name, text);
  }

  // The message of the ConfigError that resolving `file` with `settings` throws ("" if none).
  static std::string error_of(const std::optional<fs::path>& file,
                              const std::vector<std::string>& settings = {}) {
    try {
      resolve_config(defaults(), file, settings);
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "";
  }

  test_support::TempDir dir_;
};

std::string trainer_error(const std::vector<std::string>& settings) {
  try {
    const json config = resolve_config(defaults(), std::nullopt, settings);
    trainer_settings_from(config.at("trainer"));
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Config, TheShippedDefaultIsAValidConfig) {
  const json config = resolve_config(defaults(), std::nullopt, {});
  EXPECT_EQ(config, defaults());
  const TrainerSettings s = trainer_settings_from(config.at("trainer"));
  EXPECT_EQ(s.mode, "centered");
  EXPECT_DOUBLE_EQ(s.nudging, 0.5);
  EXPECT_EQ(s.batch_size, 32u);
  EXPECT_EQ(s.epochs, 30u);
  EXPECT_DOUBLE_EQ(s.compliance_decay, 0.99);
  EXPECT_EQ(s.homeostat, "auto");
}

TEST_F(ConfigFiles, FileOverridesDefaultsAndSettingsOverrideTheFile) {
  const auto file = write("run.json", R"({"trainer": {"epochs": 5, "nudging": 0.3},
                                          "data": {"set": "xor"}})");
  const json config =
      resolve_config(defaults(), file, {"trainer.epochs=7", "trainer.mode=optimistic"});
  EXPECT_EQ(config["trainer"]["epochs"], 7);           // --set wins over the file
  EXPECT_EQ(config["trainer"]["nudging"], 0.3);        // the file wins over the default
  EXPECT_EQ(config["trainer"]["mode"], "optimistic");  // a bare word is a string
  EXPECT_EQ(config["data"]["set"], "xor");
  EXPECT_EQ(config["trainer"]["batch_size"], defaults()["trainer"]["batch_size"]);  // untouched
  EXPECT_EQ(config["device"], defaults()["device"]);
}

TEST(Config, SettingsParseTheirValueAsJson) {
  json config = defaults();
  apply_setting(config, "device.layers=[2,8,2]");
  apply_setting(config, "trainer.shuffle=false");
  apply_setting(config, "trainer.feedback.gain=0.5");
  EXPECT_EQ(config["device"]["layers"], json::array({2, 8, 2}));
  EXPECT_EQ(config["trainer"]["shuffle"], false);
  EXPECT_EQ(config["trainer"]["feedback"]["gain"], 0.5);
}

TEST_F(ConfigFiles, MalformedJsonNamesTheFileAndTheLine) {
  const auto file = write("broken.json",
                          "{\n"
                          "  \"trainer\": {\n"
                          "    \"epochs\": 3,,\n"
                          "    \"nudging\": 0.5\n"
                          "  }\n"
                          "}\n");
  const std::string e = error_of(file);
  ASSERT_FALSE(e.empty()) << "a malformed file was accepted";
  EXPECT_THAT(e, HasSubstr(file.string()));
  EXPECT_THAT(e, HasSubstr(file.string() + ":3:")) << "the error is on line 3: " << e;
}

TEST_F(ConfigFiles, MalformedJsonOnTheFirstLineSaysLineOne) {
  const auto file = write("first.json", "{\"trainer\" 3}\n");
  try {
    read_json_file(file);
    FAIL() << "accepted a malformed file";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr(file.string() + ":1:"));
  }
}

TEST_F(ConfigFiles, TruncatedFileNamesTheFile) {
  const auto file = write("truncated.json", "{\n  \"trainer\": {\n    \"epochs\": 3\n");
  const std::string e = error_of(file);
  EXPECT_THAT(e, HasSubstr("truncated.json"));
  EXPECT_THAT(e, HasSubstr("malformed JSON"));
}

TEST_F(ConfigFiles, MissingFileNamesTheFile) {
  const std::string e = error_of(dir_ / "nowhere.json");
  EXPECT_THAT(e, HasSubstr("nowhere.json"));
}

TEST_F(ConfigFiles, UnknownKeyInAFileNamesTheFileAndTheDottedKey) {
  const auto file = write("typo.json", R"({"trainer": {"nudgng": 0.2}})");
  const std::string e = error_of(file);
  EXPECT_THAT(e, HasSubstr("typo.json"));
  EXPECT_THAT(e, HasSubstr("trainer.nudgng"));
  EXPECT_THAT(e, HasSubstr("nudging")) << "the known keys are listed";
}

TEST_F(ConfigFiles, UnknownSectionInAFileIsRefused) {
  const auto file = write("section.json", R"({"trainr": {"epochs": 2}})");
  EXPECT_THAT(error_of(file), HasSubstr("trainr"));
}

TEST_F(ConfigFiles, UnknownNestedKeyNamesTheWholePath) {
  const auto file = write("nested.json", R"({"trainer": {"feedback": {"gian": 0.5}}})");
  EXPECT_THAT(error_of(file), HasSubstr("trainer.feedback.gian"));
}

TEST(Config, UnknownKeyFromASettingNamesTheDottedKey) {
  try {
    resolve_config(defaults(), std::nullopt, {"trainer.nudgng=0.2"});
    FAIL() << "a typo fell back to the default silently";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("trainer.nudgng"));
  }
}

TEST_F(ConfigFiles, WrongTypeInAFileNamesTheKey) {
  const auto file = write("types.json", R"({"trainer": {"epochs": "three"}})");
  const std::string e = error_of(file);
  EXPECT_THAT(e, HasSubstr("types.json"));
  EXPECT_THAT(e, HasSubstr("trainer.epochs"));
  EXPECT_THAT(e, HasSubstr("three"));
}

TEST_F(ConfigFiles, ASectionGivenAsAValueIsRefused) {
  const auto file = write("flat.json", R"({"trainer": 3})");
  EXPECT_THAT(error_of(file), HasSubstr("trainer"));
}

TEST(Config, WrongTypeFromASettingNamesTheKey) {
  try {
    resolve_config(defaults(), std::nullopt, {"trainer.shuffle=sometimes"});
    FAIL() << "a string was accepted for a boolean";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("trainer.shuffle"));
  }
}

TEST(Config, SettingThroughANonSectionNamesIt) {
  json config = defaults();
  try {
    apply_setting(config, "trainer.epochs.max=3");
    FAIL() << "descended into a number";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("trainer.epochs.max"));
    EXPECT_THAT(e.what(), HasSubstr("trainer.epochs is not a section"));
  }
  try {
    apply_setting(config, "trainr.epochs=3");
    FAIL() << "created a section";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("trainr.epochs"));
  }
  EXPECT_EQ(config, defaults()) << "a refused setting changed the config";
}

TEST(Config, SettingWithoutAValueIsRefused) {
  json config = defaults();
  for (const std::string bad : {"trainer.epochs", "=3"}) {
    try {
      apply_setting(config, bad);
      ADD_FAILURE() << "accepted --set " << bad;
    } catch (const ConfigError& e) {
      EXPECT_THAT(e.what(), HasSubstr(bad));
    }
  }
}

TEST(Config, OutOfRangeTrainerValuesNameTheKey) {
  struct Case {
    std::string setting, key;
  };
  for (const Case& c : std::vector<Case>{
           {"trainer.nudging=-1", "trainer.nudging"},
           {"trainer.nudging=0", "trainer.nudging"},
           {"trainer.mode=centred", "trainer.mode"},
           {"trainer.algorithm=backprop", "trainer.algorithm"},
           {"trainer.homeostat=magic", "trainer.homeostat"},
           {"trainer.batch_size=0", "trainer.batch_size"},
           {"trainer.epochs=0", "trainer.epochs"},
           {"trainer.compliance_decay=1.5", "trainer.compliance_decay"},
           {"trainer.feedback.gain=0", "trainer.feedback.gain"},
           {"trainer.feedback.tolerance=-1e-6", "trainer.feedback.tolerance"},
           {"trainer.feedback.max_rounds=0", "trainer.feedback.max_rounds"},
           {"trainer.feedback.memory=51", "trainer.feedback.memory"},
           {"trainer.feedback.limit=ignore", "trainer.feedback.limit"},
           {"trainer.feedback.probe=-1", "trainer.feedback.probe"},
           {"trainer.feedback.probe=\"sometimes\"", "trainer.feedback.probe"},
           {"trainer.feedback.probe=true", "trainer.feedback.probe"},
       }) {
    EXPECT_THAT(trainer_error({c.setting}), HasSubstr(c.key)) << "--set " << c.setting;
  }
  EXPECT_THAT(trainer_error({"trainer.mode=centred"}), HasSubstr("centred"));
}

TEST(Config, TheFeedbackProbeIsAutoOffOrARatio) {
  // "auto" by default: the ratio chosen by measurement (docs/algorithm.md §4.2).
  auto settings = [](const std::vector<std::string>& set) {
    return trainer_settings_from(resolve_config(defaults(), std::nullopt, set).at("trainer"));
  };
  const TrainerSettings automatic = settings({});
  EXPECT_TRUE(automatic.feedback_probe_auto);
  const TrainerSettings off = settings({"trainer.feedback.probe=\"off\""});
  EXPECT_FALSE(off.feedback_probe_auto);
  EXPECT_EQ(off.feedback_probe, 0.0);
  const TrainerSettings forced = settings({"trainer.feedback.probe=1e6"});
  EXPECT_FALSE(forced.feedback_probe_auto);
  EXPECT_EQ(forced.feedback_probe, 1e6);
  EXPECT_EQ(settings({"trainer.feedback.probe=0"}).feedback_probe, 0.0);
}

TEST(Config, CountsMustBeWholeNonNegativeNumbers) {
  // nlohmann would read -1 as 18446744073709551615 epochs and 2.5 as 2: both must be refused.
  for (const std::string key :
       {"trainer.epochs", "trainer.batch_size", "trainer.seed", "trainer.feedback.max_rounds"}) {
    EXPECT_THAT(trainer_error({key + "=-1"}), HasSubstr(key)) << key << "=-1";
    EXPECT_THAT(trainer_error({key + "=2.5"}), HasSubstr(key)) << key << "=2.5";
  }
}

TEST(Config, ReaderErrorsNameTheKeyAndWhatWasExpected) {
  const json section = {{"rate", -2.0}, {"mode", "up"}, {"name", 3}, {"ok", 0.25}};
  const ConfigReader r(section, "pump");
  EXPECT_EQ(r.path("rate"), "pump.rate");
  EXPECT_DOUBLE_EQ(r.positive("ok"), 0.25);
  EXPECT_DOUBLE_EQ(r.in_range("ok", 0.0, 1.0), 0.25);
  EXPECT_EQ(r.one_of("mode", {"up", "down"}), "up");
  auto message = [](auto&& f) -> std::string {
    try {
      f();
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_THAT(message([&] { r.get<double>("flow"); }), HasSubstr("pump.flow: missing key"));
  EXPECT_THAT(message([&] { r.get<std::string>("name"); }), HasSubstr("pump.name"));
  EXPECT_THAT(message([&] { r.positive("rate"); }), HasSubstr("pump.rate"));
  EXPECT_THAT(message([&] { r.in_range("ok", 0.5, 1.0); }), HasSubstr("pump.ok"));
  EXPECT_THAT(message([&] { r.one_of("mode", {"left", "right"}); }), HasSubstr("left, right"));
}

TEST(Config, OpenKeysAreLeftToTheirOwnValidator) {
  const json schema = {{"device", {{"type", "hopfield"}}}, {"trainer", {{"epochs", 1}}}};
  const json given = {{"device", {{"type", "circuit"}, {"resistors", 4}}}};
  EXPECT_NO_THROW(require_known_keys(given, schema, "", {"device"}));
  try {
    require_known_keys(given, schema, "");
    FAIL() << "device.resistors passed without being an open key";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("device.resistors"));
  }
}

TEST_F(ConfigFiles, ANewDeviceTypeReplacesTheDefaultDeviceSection) {
  const auto file = write("circuit.json", R"({"device": {"type": "circuit", "nodes": 5}})");
  const json config = resolve_config(defaults(), file, {});
  EXPECT_EQ(config["device"], json({{"type", "circuit"}, {"nodes", 5}}));
}

TEST_F(ConfigFiles, TheSameDeviceTypeMergesIntoTheDefault) {
  const auto file = write("hop.json", R"({"device": {"layers": [2, 8, 2]}})");
  const json config = resolve_config(defaults(), file, {});
  EXPECT_EQ(config["device"]["layers"], json::array({2, 8, 2}));
  EXPECT_EQ(config["device"]["type"], "hopfield");
  EXPECT_EQ(config["device"]["gains"], defaults()["device"]["gains"]);
}

TEST(Config, MergeReplacesLeavesAndMergesObjects) {
  json base = {{"a", {{"x", 1}, {"y", 2}}}, {"b", {1, 2}}};
  merge_config(base, {{"a", {{"y", 3}}}, {"b", {9}}});
  EXPECT_EQ(base, json({{"a", {{"x", 1}, {"y", 3}}}, {"b", {9}}}));
}

TEST(Config, TheRulesThatSetParametersReadTheirOwnKeys) {
  const json config =
      resolve_config(defaults(), std::nullopt,
                     {"trainer.algorithm=spsa", "trainer.learning_rates=[0.1,0.2,0.3,0.4]",
                      "trainer.learning_rate_decay=0.5", "trainer.coupled.amplitude=0.25",
                      "trainer.coupled.clamp_strength=8", "trainer.spsa.perturbation=0.01"});
  const TrainerSettings s = trainer_settings_from(config.at("trainer"));
  EXPECT_EQ(s.algorithm, "spsa");
  EXPECT_EQ(s.learning_rates, (std::vector<double>{0.1, 0.2, 0.3, 0.4}));
  EXPECT_DOUBLE_EQ(s.learning_rate_decay, 0.5);
  EXPECT_DOUBLE_EQ(s.sections.get<CoupledLearningSection>().amplitude, 0.25);
  EXPECT_DOUBLE_EQ(s.sections.get<CoupledLearningSection>().clamp_strength, 8.0);
  EXPECT_DOUBLE_EQ(s.sections.get<SpsaSection>().perturbation, 0.01);
  // One number is a rate for every group.
  const json one = resolve_config(defaults(), std::nullopt, {"trainer.learning_rates=0.2"});
  EXPECT_EQ(trainer_settings_from(one.at("trainer")).learning_rates, std::vector<double>{0.2});
  for (const char* algorithm : {"aeqprop", "eqprop", "coupled", "spsa"})
    EXPECT_EQ(trainer_error({std::string("trainer.algorithm=") + algorithm}), "") << algorithm;
}

TEST(Config, BadSettingsOfTheRulesThatSetParametersNameTheKey) {
  EXPECT_THAT(trainer_error({"trainer.algorithm=backprop"}),
              HasSubstr("trainer.algorithm: \"backprop\" is not one of: aeqprop, eqprop, "
                        "coupled, spsa"));
  EXPECT_THAT(trainer_error({"trainer.learning_rates=fast"}),
              HasSubstr("trainer.learning_rates: expected a number or an array"));
  EXPECT_THAT(trainer_error({"trainer.learning_rates=[]"}), HasSubstr("trainer.learning_rates"));
  EXPECT_THAT(trainer_error({"trainer.learning_rates=[0.1,\"x\"]"}),
              HasSubstr("trainer.learning_rates: expected numbers"));
  EXPECT_THAT(trainer_error({"trainer.learning_rates=-1"}), HasSubstr("trainer.learning_rates"));
  EXPECT_THAT(trainer_error({"trainer.learning_rate_decay=2"}),
              HasSubstr("trainer.learning_rate_decay"));
  EXPECT_THAT(trainer_error({"trainer.coupled.amplitude=0"}),
              HasSubstr("trainer.coupled.amplitude"));
  EXPECT_THAT(trainer_error({"trainer.coupled.clamp_strength=-1"}),
              HasSubstr("trainer.coupled.clamp_strength"));
  EXPECT_THAT(trainer_error({"trainer.spsa.perturbation=0.9"}),
              HasSubstr("trainer.spsa.perturbation"));
  EXPECT_THAT(trainer_error({"trainer.spsa.perturbaton=0.1"}),
              HasSubstr("trainer.spsa.perturbaton: unknown key"));
  EXPECT_EQ(trainer_error({"trainer.homeostat=none"}), "");
  EXPECT_THAT(trainer_error({"trainer.homeostat=off"}),
              HasSubstr("is not one of: auto, native, feedback, feedback-proportional, none"));
  EXPECT_EQ(trainer_error({"trainer.homeostat=feedback-proportional"}), "");
  EXPECT_EQ(trainer_error({"trainer.feedback.limit=scale", "trainer.feedback.memory=0"}), "");
}
