// `aeqlab circuit op` and `aeqlab circuit dc` run as a user would: the printed format (other
// tools and scripts/bench-circuit parse it), the exit statuses, and errors naming the culprit.

#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "program_fixture.hpp"

using ::testing::HasSubstr;

namespace {

class CircuitProgram : public aeqlab::e2e::ProgramTest {};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// A divider whose voltages print exactly, then a diode and a current source.
const char* const kDeck =
    "divider and diode\n"
    "V1 in 0 DC 1\n"
    "R1 in Mid 1k\n"
    "R2 mid 0 2k\n"
    "D1 MID out dm\n"
    "R3 out 0 1meg\n"
    "I1 out 0 1n\n"
    ".model dm D(IS=1e-14 N=1)\n"
    ".end\n";

// A number as %.12g prints it: at most 12 significant digits.
bool twelve_digits(const std::string& s) {
  if (!std::regex_match(s, std::regex(R"(-?\d+(\.\d+)?(e[+-]\d\d+)?)"))) return false;
  const std::string mantissa = s.substr(0, s.find('e'));
  std::size_t digits = 0;
  bool leading = true;
  for (char c : mantissa) {
    if (c < '0' || c > '9') continue;
    if (leading && c == '0') continue;
    leading = false;
    ++digits;
  }
  return digits <= 12;
}

}  // namespace

TEST_F(CircuitProgram, OpPrintsEveryNodeButGround) {
  write("divider.cir", kDeck);
  const auto r = run({"circuit", "op", "divider.cir"});
  ASSERT_EQ(r.status, 0) << r.all();
  const auto lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 3u) << r.all();
  // In the order the netlist names them, spelt as first written.
  EXPECT_EQ(lines[0], "in 1");
  for (std::size_t k = 1; k < 3; ++k) {
    std::smatch m;
    ASSERT_TRUE(std::regex_match(lines[k], m, std::regex(R"((\S+) (\S+))"))) << lines[k];
    EXPECT_EQ(m[1].str(), k == 1 ? "Mid" : "out");
    EXPECT_TRUE(twelve_digits(m[2].str())) << lines[k];
  }
  // 1 uA at most leaks through the diode: Mid sits just below 2/3 V, out a few hundred mV down.
  const double mid = std::stod(lines[1].substr(4)), out = std::stod(lines[2].substr(4));
  EXPECT_NEAR(mid, 2.0 / 3.0, 1e-3);
  EXPECT_GT(out, 0.0);
  EXPECT_LT(out, mid);
}

TEST_F(CircuitProgram, OpPrintsTwelveSignificantDigits) {
  write("third.cir", "third\nV1 a 0 1\nR1 a b 1k\nR2 b 0 2k\n");
  const auto r = run({"circuit", "op", "third.cir"});
  ASSERT_EQ(r.status, 0) << r.all();
  EXPECT_EQ(r.out, "a 1\nb 0.666666666667\n");
}

TEST_F(CircuitProgram, BadNetlistExitsTwoNamingFileLineAndToken) {
  write("bad.cir", "bad\nV1 a 0 1\nR1 a 0 twelve\n");
  const auto r = run({"circuit", "op", "bad.cir"});
  EXPECT_EQ(r.status, 2) << r.all();
  EXPECT_THAT(r.err, HasSubstr("bad.cir:3:"));
  EXPECT_THAT(r.err, HasSubstr("'twelve'"));
}

TEST_F(CircuitProgram, DcSweepsLikeNgspice) {
  write("divider.cir", kDeck);
  const auto r = run({"circuit", "dc", "divider.cir", "V1", "-1", "1", "250m", "--time"});
  ASSERT_EQ(r.status, 0) << r.all();
  const auto lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 10u) << r.all();  // a header and -1, -0.75, ..., 1
  EXPECT_EQ(lines[0], "V1 in Mid out");
  for (std::size_t k = 1; k < lines.size(); ++k) {
    std::istringstream row(lines[k]);
    std::vector<std::string> fields;
    for (std::string f; row >> f;) fields.push_back(f);
    ASSERT_EQ(fields.size(), 4u) << lines[k];
    for (const auto& f : fields) EXPECT_TRUE(twelve_digits(f)) << lines[k];
    const double value = -1.0 + 0.25 * double(k - 1);
    EXPECT_DOUBLE_EQ(std::stod(fields[0]), value);
    EXPECT_DOUBLE_EQ(std::stod(fields[1]), value);  // the swept source fixes node in
  }
  EXPECT_TRUE(std::regex_match(
      r.err,
      std::regex(
          R"(solves 9 seconds \d+\.\d{6} per_solve_us \d+\.\d{3} factorisation (layered|sparse)\n)")))
      << r.err;

  // Points up to STOP and none beyond it, as ngspice: 0, 0.35, 0.7.
  const auto short_sweep = run({"circuit", "dc", "divider.cir", "v1", "0", "1", "0.35"});
  ASSERT_EQ(short_sweep.status, 0) << short_sweep.all();
  EXPECT_EQ(lines_of(short_sweep.out).size(), 4u) << short_sweep.out;
  EXPECT_TRUE(short_sweep.err.empty()) << short_sweep.err;  // no --time, no timing
}

TEST_F(CircuitProgram, DcRefusesWhatItCannotSweep) {
  write("divider.cir", kDeck);
  // Refused with status 2 and a message naming the culprit.
  const auto refuses = [&](const std::vector<std::string>& sweep, const std::string& culprit) {
    std::vector<std::string> args{"circuit", "dc", "divider.cir"};
    args.insert(args.end(), sweep.begin(), sweep.end());
    const auto r = run(args);
    EXPECT_EQ(r.status, 2) << r.all();
    EXPECT_THAT(r.err, HasSubstr(culprit));
  };
  refuses({"V9", "0", "1", "0.1"}, "'V9'");       // no such source
  refuses({"R1", "0", "1", "0.1"}, "'R1'");       // not a source
  refuses({"V1", "0", "1", "-0.1"}, "STEP");      // backwards
  refuses({"V1", "zero", "1", "0.1"}, "'zero'");  // not a number
}
