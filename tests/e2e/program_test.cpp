// Runs the built `aeqlab` program as a user would.
#include <cstdio>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace {

struct Result {
  int status;
  std::string output;
};

Result run(const std::string& args) {
  const std::string cmd = std::string(AEQLAB_BINARY) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  while (std::size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  const int status = pclose(p);
  return {WEXITSTATUS(status), out};
}

}  // namespace

TEST(Program, PrintsItsDefaultConfigAsJson) {
  const auto r = run("config --print-default");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto config = nlohmann::json::parse(r.output);
  EXPECT_EQ(config["device"]["type"], "hopfield");
  EXPECT_EQ(config["data"]["set"], "mnist");
  EXPECT_EQ(config["trainer"]["mode"], "centered");
}
