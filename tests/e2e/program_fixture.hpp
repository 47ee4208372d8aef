#pragma once
// Running the built `aeqlab` as a user would: from a fresh temporary folder per test (removed
// afterwards), with its exit status and what it printed.

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace aeqlab::e2e {

inline std::string read_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// One word for the shell, whatever it holds.
inline std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

class ProgramTest : public ::testing::Test {
 protected:
  struct Result {
    int status = -1;
    std::string out, err;
    std::string all() const { return "stdout:\n" + out + "\nstderr:\n" + err; }
  };

  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = "aeqlab-e2e-";
    name += info->test_suite_name();
    name += '-';
    name += info->name();
    name += '-';
    name += std::to_string(::getpid());
    tmp_ = std::filesystem::temp_directory_path() / name;
    std::filesystem::remove_all(tmp_);
    std::filesystem::create_directories(tmp_);
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(tmp_, ec);
  }

  // Runs `aeqlab` with `args` (each passed as one word) from the temporary folder; `env` is put
  // before the command as it is (e.g. "AEQLAB_PYTHON=/bin/false").
  Result run(const std::vector<std::string>& args, const std::string& env = "") const {
    const std::filesystem::path out = tmp_ / "stdout.txt", err = tmp_ / "stderr.txt";
    // Built with += throughout: g++ 12 warns (-Wrestrict) falsely on `" " + quote(a)`.
    std::string cmd = "cd ";
    cmd += quote(tmp_.string());
    cmd += " && ";
    cmd += env;
    cmd += ' ';
    cmd += quote(AEQLAB_BINARY);
    for (const auto& a : args) {
      cmd += ' ';
      cmd += quote(a);
    }
    cmd += " >";
    cmd += quote(out.string());
    cmd += " 2>";
    cmd += quote(err.string());
    cmd += " </dev/null";
    const int raw = std::system(cmd.c_str());
    Result r;
    r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
    r.out = read_file(out);
    r.err = read_file(err);
    return r;
  }

  // Writes `text` to `name` in the temporary folder and returns its path.
  std::filesystem::path write(const std::string& name, const std::string& text) const {
    const std::filesystem::path p = tmp_ / name;
    std::ofstream(p) << text;
    return p;
  }

  // `aeqlab train` on XOR with a tiny network (2-4-2, batch 4) for `epochs` epochs: the
  // quickest run that leaves a whole session behind.
  static std::vector<std::string> tiny_xor_train(int epochs) {
    return {"train",
            "--set",
            "data.set=xor",
            "--set",
            "device.layers=[2,4,2]",
            "--set",
            "trainer.batch_size=4",
            "--set",
            "trainer.epochs=" + std::to_string(epochs)};
  }

  std::filesystem::path tmp_;
};

}  // namespace aeqlab::e2e
