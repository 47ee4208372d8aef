// ngspice as the oracle for what a SPICE designer writes beyond flat R/D/V/I cards: subcircuits
// (nested, with parameters, local models and .param, .global), .include and .lib, .param and
// {expressions}, and the card forms ngspice's examples use (r=, m=, AC, PULSE, $ and //
// comments, tabs, CRLF, no .end, .model without parentheses). Each deck is read by aeqlab and
// run by `ngspice -b` as it is; the node names must be ngspice's, every node within 1 uV, and
// every resistor, diode and source must carry ngspice's flattened name (resistors its value).

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "../../core/temp_dir.hpp"
#include "sim/circuit/circuit_netlist.hpp"
#include "sim/circuit/circuit_solver.hpp"

using namespace aeqlab;
using aeqlab::sim::Circuit;
using aeqlab::sim::ElementKind;

namespace {

namespace fs = std::filesystem;

constexpr double kAgreement = 1e-6;  // volts, at every node

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

struct NgspiceRun {
  std::map<std::string, double> volts;            // node name as ngspice prints it
  std::map<std::string, double> resistance;       // resistor name -> ohms
  std::map<char, std::set<std::string>> devices;  // 'r', 'd', 'v', 'i' -> names
  std::string log;
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The deck as written, its `.end` dropped, then tight tolerances and a control block that writes
// the node voltages and lists the devices of each kind `c` has.
NgspiceRun run_ngspice(const fs::path& deck, const Circuit& c) {
  NgspiceRun run;
  std::string text;
  {
    std::ifstream in(deck, std::ios::binary);
    static const std::regex end_card(R"(^\s*\.[eE][nN][dD]\s*\r?$)");
    for (std::string line; std::getline(in, line);)
      if (!std::regex_match(line, end_card)) text += line + "\n";
  }
  const fs::path data = deck.parent_path() / (deck.stem().string() + ".ngspice.txt");
  const fs::path oracle = deck.parent_path() / (deck.stem().string() + ".ngspice.cir");
  const fs::path log = deck.parent_path() / (deck.stem().string() + ".ngspice.log");
  text +=
      ".options reltol=1e-9 vntol=1e-12 abstol=1e-15\n.control\nset numdgt=12\n"
      "set wr_vecnames\nset wr_singlescale\nop\nwrdata " +
      data.string() + " all\n";
  std::set<char> kinds;
  for (const auto& e : c.elements) kinds.insert(sim::names_of(e.kind).letter);
  if (kinds.count('r')) text += "show r : resistance\n";
  if (kinds.count('d')) text += "show d : vd\n";
  if (kinds.count('v')) text += "show v : dc\n";
  if (kinds.count('i')) text += "show i : dc\n";
  text += "quit 0\n.endc\n.end\n";
  std::ofstream(oracle, std::ios::binary) << text;
  const std::string command = "ngspice -b '" + oracle.string() + "' >'" + log.string() + "' 2>&1";
  const int status = std::system(command.c_str());
  run.log = slurp(log);
  if (status != 0) {
    ADD_FAILURE() << "ngspice -b " << oracle << " failed (status " << status << "):\n" << run.log;
    return run;
  }
  std::ifstream in(data);
  std::string header, row, name;
  std::getline(in, header);
  std::getline(in, row);
  std::istringstream names(header), values(row);
  double v = 0.0;
  while (names >> name && values >> v)
    if (name.find('#') == std::string::npos) run.volts[name] = v;
  // `show` prints blocks of up to three devices: a "device" row, then a row per parameter.
  std::istringstream lines(run.log);
  std::vector<std::string> current;
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::string first;
    if (!(words >> first)) continue;
    if (first == "device") {
      current.clear();
      for (std::string w; words >> w;) {
        current.push_back(w);
        run.devices[w[0]].insert(w);
      }
    } else if (first == "resistance") {
      for (std::size_t k = 0; k < current.size() && words >> v; ++k) run.resistance[current[k]] = v;
    }
  }
  return run;
}

struct Deck {
  std::string name;
  std::map<std::string, std::string> files;  // path in the temp folder -> text; "top.cir" first
  std::size_t expected_dotted_nodes = 0;     // nodes inside instances, so the test cannot pass
                                             // on a flat deck
  std::map<std::string, double> multiplier;  // resistors with m=: ngspice shows R without it
};

// Compares aeqlab's reading of the deck with ngspice's run of it.
void expect_agreement(const Deck& deck) {
  test_support::TempDir dir;
  for (const auto& [path, text] : deck.files) dir.write(path, text);
  const fs::path top = dir / "top.cir";
  Circuit c;
  try {
    c = sim::load_netlist(top);
  } catch (const std::exception& e) {
    FAIL() << deck.name << ": aeqlab refused it: " << e.what();
  }
  sim::CircuitSolver solver(c, sim::SolveSettings{});
  std::vector<double> values;
  for (const auto& e : c.elements) values.push_back(e.value);
  std::vector<double> ours(c.nodes.size(), 0.0);
  const auto result = solver.solve(values, ours);
  EXPECT_TRUE(result.converged) << deck.name;

  const NgspiceRun theirs = run_ngspice(top, c);
  ASSERT_FALSE(theirs.volts.empty()) << deck.name << ":\n" << theirs.log;

  // Same nodes, same names: hierarchical ones exactly as ngspice prints them, the deck's own
  // in any case (ngspice prints every name in lower case).
  std::set<std::string> our_nodes;
  std::size_t dotted = 0;
  double worst = 0.0;
  for (std::size_t n = 1; n < c.nodes.size(); ++n) {
    const std::string& name = c.nodes[n];
    if (name.find('.') != std::string::npos) {
      EXPECT_EQ(name, lower(name)) << deck.name << ": ngspice prints " << lower(name);
      ++dotted;
    }
    our_nodes.insert(lower(name));
    const auto it = theirs.volts.find(lower(name));
    if (it == theirs.volts.end()) {
      ADD_FAILURE() << deck.name << ": ngspice has no node " << name;
      continue;
    }
    worst = std::max(worst, std::abs(ours[n] - it->second));
    EXPECT_LE(std::abs(ours[n] - it->second), kAgreement)
        << deck.name << ": node " << name << " aeqlab " << ours[n] << " V, ngspice " << it->second
        << " V";
  }
  for (const auto& [name, v] : theirs.volts)
    EXPECT_TRUE(our_nodes.count(name)) << deck.name << ": aeqlab has no node " << name;
  EXPECT_EQ(dotted, deck.expected_dotted_nodes) << deck.name;

  // Same elements under the same names.
  std::map<char, std::set<std::string>> our_devices;
  for (std::size_t e = 0; e < c.elements.size(); ++e) {
    const auto& el = c.elements[e];
    our_devices[sim::names_of(el.kind).letter].insert(lower(el.name));
    if (el.kind != ElementKind::resistor) continue;
    const auto it = theirs.resistance.find(lower(el.name));
    if (it == theirs.resistance.end()) {
      ADD_FAILURE() << deck.name << ": ngspice has no resistor " << el.name;
      continue;
    }
    // `show` prints six digits.
    const auto m = deck.multiplier.find(lower(el.name));
    const double ohms = it->second / (m == deck.multiplier.end() ? 1.0 : m->second);
    EXPECT_NEAR(1.0 / el.value, ohms, 1e-5 * ohms) << deck.name << ": " << el.name;
  }
  EXPECT_EQ(our_devices, theirs.devices) << deck.name;
  std::printf("%s: %zu nodes (%zu inside instances), %zu elements, worst |dv| vs ngspice %.2g V\n",
              deck.name.c_str(), c.nodes.size() - 1, dotted, c.elements.size(), worst);
}

bool ngspice_installed() {
  return std::system("command -v ngspice >/dev/null 2>&1") == 0;
}

}  // namespace

TEST(NetlistHierarchyNgspice, NestedSubcircuitsWithParametersModelsAndGlobals) {
  ASSERT_TRUE(ngspice_installed()) << "ngspice is not installed (scripts/install-deps)";
  expect_agreement({"hierarchy",
                    {{"top.cir",
                      "nested subcircuits\n"
                      ".param rbase=2k vclamp=0.25\n"
                      ".global vdd\n"
                      "Vdd vdd 0 {vclamp}\n"
                      "* a cell: a series resistor into a diode-clamped node, a local model\n"
                      ".subckt cell a b params: r=1k ratio=2\n"
                      ".param rhalf={r/ratio}\n"
                      "R1 a n {r}\n"
                      "R2 n b {rhalf}\n"
                      "Dc n vdd dcell\n"
                      "Rg n gnd 47k\n"
                      ".model dcell D(IS=1e-12 N=1.3)\n"
                      ".ends cell\n"
                      ".subckt pair in out r=3k\n"
                      "X1 in mid cell r={r} ratio=3\n"
                      "X2 mid out cell\n"
                      "Rmid mid 0 {2*r}\n"
                      "Dp mid out dtop\n"
                      ".ends\n"
                      ".subckt quad in out\n"
                      ".subckt leaf p q\n"
                      "R1 p q 5k\n"
                      ".ends leaf\n"
                      "Xa in m pair r={rbase}\n"
                      "Xb m out pair\n"
                      "Xl m 0 leaf\n"
                      ".ends quad\n"
                      "V1 in 0 DC 2\n"
                      "Xq in out quad\n"
                      "X9 in out2 cell r=10k\n"
                      "Rload out 0 10k\n"
                      "Rload2 out2 0 10k\n"
                      ".model dtop D(IS=1e-14 N=1)\n"
                      ".op\n"
                      ".end\n"}},
                    8,
                    {}});
}

TEST(NetlistHierarchyNgspice, IncludeAndLibRelativeToTheIncludingFile) {
  ASSERT_TRUE(ngspice_installed()) << "ngspice is not installed (scripts/install-deps)";
  expect_agreement({"include",
                    {{"top.cir",
                      "includes\n"
                      ".include \"cells/cell.inc\"\n"
                      ".lib 'lib/models.lib' slow\n"
                      "V1 in 0 1.5\n"
                      "X1 in m cell r=4k\n"
                      "D1 m 0 dm\n"
                      "R5 m 0 {rl}\n"},
                     {"cells/cell.inc",
                      "R9 in 0 1k\n"  // an included file has no title line
                      ".subckt cell a b r=1k\n"
                      "R1 a b {r}\n"
                      ".ends\n"
                      ".inc ../lib/more.inc\n"},
                     {"lib/more.inc", "* more\nRmore in 0 2k\n.end\nRpast in 0 7k\n"},
                     {"lib/models.lib",
                      "* a library: only the section asked for is read\n"
                      "Rnot in 0 1\n"
                      ".lib fast\n"
                      ".model dm D(IS=1e-9 N=1)\n"
                      ".param rl=2k\n"
                      ".endl fast\n"
                      ".lib slow\n"
                      ".model dm D(IS=1e-15 N=1.1)\n"
                      ".param rl=30k\n"
                      ".endl\n"}},
                    0,
                    {}});
}

TEST(NetlistHierarchyNgspice, ParametersAndExpressions) {
  ASSERT_TRUE(ngspice_installed()) << "ngspice is not installed (scripts/install-deps)";
  expect_agreement({"params",
                    {{"top.cir",
                      "parameters\n"
                      ".param a={b*2} b=1.5k\n"  // a refers to b, defined after it
                      ".param c = {a + 2*b - -1k}\n"
                      ".param d='(a+c)/4' e={-2^2+10} f={2^3^2}\n"
                      ".param g={sqrt(16)*1k+abs(-3)*100+log(10)*10+min(3,4)+max(1,2)}\n"
                      ".param h={pow(2,3)*1k + exp(0) + log10(1000) + 4.7k/2}\n"
                      ".param vin=2.5\n"
                      "V1 in 0 {vin}\n"
                      "V2 ref 0 'vin/5 - 0.1'\n"
                      "R1 in n1 {a}\n"
                      "R2 n1 n2 'c'\n"
                      "R3 n2 0 r={d}\n"
                      "R4 n1 ref resistance={e*1k}\n"
                      "R5 n2 ref {f*100} m=2\n"
                      "R6 n1 0 {g}\n"
                      "R7 n2 0 {h}\n"
                      "R8 n1 n2 {1meg - 2*3.5k}\n"
                      "D1 n2 ref dp\n"
                      ".model dp D(IS={1e-14*10} N={1+0.5})\n"}},
                    0,
                    {{"r5", 2.0}}});
}

TEST(NetlistHierarchyNgspice, CardFormsFromNgspiceDecks) {
  ASSERT_TRUE(ngspice_installed()) << "ngspice is not installed (scripts/install-deps)";
  expect_agreement({"forms",
                    {{"top.cir",
                      "card forms\r\n"
                      "* CRLF line ends, tabs, no .end card\r\n"
                      "V1\tin\t0\tDC 1 AC 1\r\n"
                      "V2 p 0 pulse(0.3 1 1n 1n 1n 1u 2u)\r\n"
                      "V3 s 0 dc 0.25 sin(0 1 1k)\r\n"
                      "V4 u 0 0.5V\r\n"
                      "I1 0 w DC 1m AC 1 0\r\n"
                      "R1 in a r=1k $ an inline comment\r\n"
                      "R2 a 0 1k tc1=0.01 tc2=1e-5 // another\r\n"
                      "R3 p a 2k ; and another\r\n"
                      "R4 s a resistance = 3k\r\n"
                      "R5 u a 4k m=2\r\n"
                      "R6 w a 1k\r\n"
                      "R7 w 0 10k ac=5k\r\n"
                      "D1 a 0 dslow\r\n"
                      "D2 a u dcap\r\n"
                      ".model dslow d is=1e-15 n=1.2\r\n"
                      "+ cjo=2p m=0.4 vj=0.7 tt=1n fc=0.5\r\n"
                      ".model dcap D(IS=1e-13 N=1 CJO=1p EG=1.11 XTI=3 KF=0 AF=1 LEVEL=1 RS=0)\r\n"
                      ".options reltol=1e-4 temp=27\r\n"
                      ".temp 27\r\n"
                      ".op\r\n"
                      ".dc V1 0 1 0.1\r\n"
                      ".print dc v(a)\r\n"}},
                    0,
                    {{"r5", 2.0}}});
}

TEST(NetlistHierarchyNgspice, TheCrossbarExampleDeck) {
  ASSERT_TRUE(ngspice_installed()) << "ngspice is not installed (scripts/install-deps)";
  const fs::path example = fs::path(AEQLAB_SOURCE_DIR) / "docs/examples/circuits/crossbar.cir";
  std::ifstream in(example, std::ios::binary);
  ASSERT_TRUE(in) << example;
  std::stringstream text;
  text << in.rdbuf();
  // The example's inputs sit at 0 V: set them so current flows and diodes conduct.
  std::string deck = std::regex_replace(text.str(), std::regex(R"((Vx\d+p \S+ 0 DC) 0)"), "$1 1.3");
  deck = std::regex_replace(deck, std::regex(R"((Vx\d+n \S+ 0 DC) 0)"), "$1 -0.7");
  expect_agreement({"crossbar", {{"top.cir", deck}}, 88, {}});
}
