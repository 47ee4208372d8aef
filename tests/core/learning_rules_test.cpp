// The learning rules are one list of entries: each named, with its own section read from the
// config, its capability check and its factory. What the log says of each is as before.
#include <filesystem>
#include <set>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/config.hpp"
#include "core/coupled_learning_trainer.hpp"
#include "core/error.hpp"
#include "core/learning_rule.hpp"
#include "core/spsa_trainer.hpp"
#include "core/trainer_factory.hpp"

using namespace aeqlab;
using ::testing::HasSubstr;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

const json& default_trainer() {
  static const json d =
      read_json_file(fs::path(AEQLAB_SOURCE_DIR) / "core" / "cli" / "default_config.json")
          .at("trainer");
  return d;
}

}  // namespace

TEST(LearningRules, EveryRuleIsOneCompleteEntryWithItsOwnName) {
  std::vector<std::string> names;
  for (const auto& rule : learning_rules()) {
    names.push_back(rule.name);
    EXPECT_NE(rule.require_supported, nullptr) << rule.name;
    EXPECT_NE(rule.make, nullptr) << rule.name;
    EXPECT_NE(rule.describe, nullptr) << rule.name;
    EXPECT_EQ(&learning_rule(rule.name), &rule);
  }
  // The order is the one errors list them in.
  EXPECT_EQ(names, (std::vector<std::string>{"aeqprop", "eqprop", "coupled", "spsa"}));
  EXPECT_FALSE(learning_rule("aeqprop").sets_parameters) << "the physics moves its parameters";
  for (const char* name : {"eqprop", "coupled", "spsa"})
    EXPECT_TRUE(learning_rule(name).sets_parameters) << name;
}

TEST(LearningRules, AnUnknownRuleIsRefusedListingTheKnownOnes) {
  try {
    learning_rule("backprop");
    ADD_FAILURE() << "an unknown rule was found";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(),
                 "trainer.algorithm: \"backprop\" is not one of: aeqprop, eqprop, coupled, spsa");
  }
}

TEST(LearningRules, EachRuleReadsItsOwnSectionOfTheDefaultConfig) {
  json trainer = default_trainer();
  trainer["coupled"]["amplitude"] = 0.75;
  trainer["spsa"]["perturbation"] = 0.02;
  TrainerSettings s;
  for (const auto& rule : learning_rules())
    if (rule.read_section) rule.read_section(trainer, s);
  EXPECT_DOUBLE_EQ(s.sections.get<CoupledLearningSection>().amplitude, 0.75);
  EXPECT_DOUBLE_EQ(s.sections.get<CoupledLearningSection>().clamp_strength, 5.0);
  EXPECT_DOUBLE_EQ(s.sections.get<SpsaSection>().perturbation, 0.02);

  json missing = default_trainer();
  missing.erase("spsa");
  EXPECT_THROW(learning_rule("spsa").read_section(missing, s), ConfigError);
}

TEST(LearningRules, ASectionNeverReadHasItsDefaults) {
  const TrainerSettings s;
  EXPECT_DOUBLE_EQ(s.sections.get<SpsaSection>().perturbation, SpsaSettings{}.perturbation);
  EXPECT_DOUBLE_EQ(s.sections.get<CoupledLearningSection>().amplitude,
                   CoupledLearningSettings{}.amplitude);
  TrainerSettings t;
  t.sections.get<SpsaSection>().perturbation = 0.125;
  const TrainerSettings copy = t;
  EXPECT_DOUBLE_EQ(copy.sections.get<SpsaSection>().perturbation, 0.125);
}

TEST(LearningRules, TheLogLineOfEachRuleIsAsBefore) {
  TrainerSettings s;
  s.algorithm = "aeqprop";
  EXPECT_EQ(describe_trainer(s), "AEqprop centered beta=0.5");
  s.algorithm = "eqprop";
  s.mode = "optimistic";
  s.nudging = 0.25;
  EXPECT_EQ(describe_trainer(s), "EqProp optimistic beta=0.25");
  s.algorithm = "coupled";
  EXPECT_EQ(describe_trainer(s), "coupled learning eta=0.5 clamp_strength=5");
  s.algorithm = "spsa";
  s.sections.get<SpsaSection>().perturbation = 0.01;
  EXPECT_EQ(describe_trainer(s), "SPSA perturbation=0.01");
}
