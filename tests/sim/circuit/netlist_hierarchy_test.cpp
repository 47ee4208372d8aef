// Subcircuits, parameters and includes in the netlist reader, without ngspice: the names
// flattening gives, where each element's card is, and every mistake refused with the file and
// line that holds it (netlist_hierarchy_ngspice_test.cpp checks the values against ngspice).

#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "../../core/temp_dir.hpp"
#include "core/error.hpp"
#include "sim/circuit/circuit_netlist.hpp"
#include "sim/circuit/netlist_expression.hpp"

using namespace aeqlab;
using aeqlab::sim::Circuit;
using ::testing::HasSubstr;

namespace {

Circuit read(const std::string& text, std::vector<std::string>* where = nullptr,
             const sim::NetlistLimits& limits = {}) {
  std::istringstream in(text);
  return sim::read_netlist(in, "deck.cir", limits, where);
}

std::string error_of(const std::string& text, const sim::NetlistLimits& limits = {}) {
  try {
    read(text, nullptr, limits);
  } catch (const DataError& e) {
    return e.what();
  }
  ADD_FAILURE() << "read without error:\n" << text;
  return "";
}

double ohms(const Circuit& c, const std::string& name) {
  const auto e = c.find_element(name);
  EXPECT_TRUE(e.has_value()) << name;
  return e ? 1.0 / c.elements[*e].value : 0.0;
}

// prefix followed by k; built with += (g++ 12 warns falsely, -Wrestrict, on "x" + std::string).
std::string numbered(const char* prefix, int k) {
  std::string s = prefix;
  s += std::to_string(k);
  return s;
}

double evaluate(const std::string& text) {
  return sim::evaluate_expression(text, [](const std::string& name) -> double {
    if (name == "r") return 2e3;
    throw sim::ExpressionError{"no parameter '" + name + "'"};
  });
}

}  // namespace

TEST(NetlistExpression, FollowsNgspicesGrammar) {
  EXPECT_DOUBLE_EQ(evaluate("1k + 2*3"), 1006.0);
  EXPECT_DOUBLE_EQ(evaluate("-2^2 + 10"), 6.0);  // the power binds tighter than the sign
  EXPECT_DOUBLE_EQ(evaluate("2^3^2"), 64.0);     // left to right, as ngspice
  EXPECT_DOUBLE_EQ(evaluate("2**-1"), 0.5);
  EXPECT_DOUBLE_EQ(evaluate("2k/4/2"), 250.0);
  EXPECT_DOUBLE_EQ(evaluate("1/2m"), 500.0);
  EXPECT_DOUBLE_EQ(evaluate("(r + 1meg) * -1"), -1002e3);
  EXPECT_DOUBLE_EQ(evaluate("R/4.7kohm"), 2e3 / 4.7e3);  // names in any case, units ignored
  EXPECT_DOUBLE_EQ(evaluate("max(1, min(3, 2)) + sqrt(16) + abs(-1) + log10(100) + ln(1)"), 9.0);
  EXPECT_DOUBLE_EQ(evaluate("pow(2, 10) + exp(0)"), 1025.0);
  EXPECT_EQ(sim::expression_names("a*2k + sqrt(b_1) - 1e-3*C"),
            (std::vector<std::string>{"a", "b_1", "c"}));
  for (const char* bad : {"", "1 +", "(1", "1)", "2 $ 3", "1/0", "sqrt(-1)", "foo(1)", "min(1)",
                          "q", "1.2.3", "1e999"}) {
    EXPECT_THROW(evaluate(bad), sim::ExpressionError) << bad;
  }
  // Nesting is bounded, not recursed into without end.
  const std::string deep = std::string(100000, '(') + "1" + std::string(100000, ')');
  EXPECT_THROW(evaluate(deep), sim::ExpressionError);
  EXPECT_THROW(evaluate(std::string(100000, '-') + "1"), sim::ExpressionError);
}

TEST(NetlistHierarchy, FlattensWithNgspicesNames) {
  std::vector<std::string> where;
  const Circuit c = read(
      "t\n"                       // 1
      ".subckt cell a b r=1k\n"   // 2
      "R1 a n {r}\n"              // 3
      "D1 n b dm\n"               // 4
      ".ends\n"                   // 5
      ".subckt pair p q\n"        // 6
      "X1 p m cell r=2k\n"        // 7
      "X2 m q CELL\n"             // 8
      ".ends pair\n"              // 9
      "V1 In 0 1\n"               // 10
      "XA In Out pair\n"          // 11
      "Rl Out 0 1k\n"             // 12
      ".model dm D(IS=1e-14)\n",  // 13
      &where);
  std::vector<std::string> names;
  for (const auto& e : c.elements) names.push_back(e.name);
  EXPECT_EQ(names, (std::vector<std::string>{"V1", "r.xa.x1.r1", "d.xa.x1.d1", "r.xa.x2.r1",
                                             "d.xa.x2.d1", "Rl"}));
  EXPECT_EQ(c.nodes, (std::vector<std::string>{"0", "In", "xa.x1.n", "xa.m", "xa.x2.n", "Out"}));
  EXPECT_DOUBLE_EQ(ohms(c, "r.xa.x1.r1"), 2e3);
  EXPECT_DOUBLE_EQ(ohms(c, "R.XA.X2.R1"), 1e3);  // the default; names in any case
  ASSERT_EQ(where.size(), c.elements.size());
  EXPECT_EQ(where[0], "deck.cir:10");
  EXPECT_EQ(where[1], "deck.cir:3");  // an element of a subcircuit: its card in the definition
  EXPECT_EQ(where[2], "deck.cir:4");
  EXPECT_EQ(where[5], "deck.cir:12");
}

TEST(NetlistHierarchy, GlobalsGroundLocalModelsAndNestedDefinitions) {
  const Circuit c = read(
      "t\n"
      ".global vdd\n"
      ".subckt outer a\n"
      ".subckt inner p\n"
      "R1 p vdd 1k\n"
      "R2 p gnd 1k\n"
      "D1 p 0 dl\n"
      ".model dl D(IS=1e-12 N={2})\n"
      ".ends inner\n"
      "Xi a inner\n"
      ".ends\n"
      "Vdd vdd 0 1\n"
      "Xo x outer\n");
  std::vector<std::string> names;
  for (const auto& e : c.elements) names.push_back(e.name);
  // Elements of a definition nested in its caller's are named as ngspice names them.
  EXPECT_EQ(names,
            (std::vector<std::string>{"Vdd", "r.xo.r.xi.r1", "r.xo.r.xi.r2", "d.xo.d.xi.d1"}));
  EXPECT_EQ(c.nodes, (std::vector<std::string>{"0", "vdd", "x"}));
  ASSERT_EQ(c.models.size(), 1u);
  EXPECT_EQ(c.models[0].name, "xo.xi.dl");  // one per instance: its parameters may differ
  EXPECT_EQ(c.models[0].emission, 2.0);
}

TEST(NetlistHierarchy, ParametersScopeAsInNgspice) {
  const Circuit c = read(
      "t\n"
      ".param r0=1k scale=2\n"
      ".param r0=3k\n"  // the last definition wins, as in ngspice
      ".subckt inner a b\n"
      "R1 a b {r0*scale}\n"  // r0 from the nearest caller that sets it
      ".ends\n"
      ".subckt outer a b r0=5k\n"
      ".param scale=10\n"
      "Xi a b inner\n"
      "R2 a b {r0}\n"
      ".ends\n"
      "Xo x 0 outer\n"
      "Xp x 0 outer r0={r0/3}\n"  // evaluated where the instance is written
      "Xq x 0 inner\n"
      "R4 x 0 'r0 + 1'\n");
  EXPECT_DOUBLE_EQ(ohms(c, "r.xo.xi.r1"), 50e3);
  EXPECT_DOUBLE_EQ(ohms(c, "r.xo.r2"), 5e3);
  EXPECT_DOUBLE_EQ(ohms(c, "r.xp.r2"), 1e3);
  EXPECT_DOUBLE_EQ(ohms(c, "r.xp.xi.r1"), 10e3);
  EXPECT_DOUBLE_EQ(ohms(c, "r.xq.r1"), 6e3);
  EXPECT_DOUBLE_EQ(ohms(c, "R4"), 3001.0);
  // A default naming its own parameter takes the caller's value (ngspice 39 does the same).
  const Circuit own = read("t\n.param r=3k\n.subckt c a b r={r*2}\nR1 a b {r}\n.ends\nX1 x 0 c\n");
  EXPECT_DOUBLE_EQ(ohms(own, "r.x1.r1"), 6e3);
}

TEST(NetlistHierarchy, IncludesAreReadRelativeToTheirFile) {
  test_support::TempDir dir;
  dir.write("lib/cells.inc", "* cells\n.subckt cell a b\nR1 a b {rr}\n.ends\n.inc more/r.inc\n");
  dir.write("lib/more/r.inc", ".param rr=2k\nRmore x 0 3k\n.end\nRafter x 0 5k\n");
  dir.write("lib/m.lib", ".lib typ\n.model dm D(IS=2e-14)\n.endl typ\n.lib bad\nQ1 a b c\n.endl\n");
  const auto top =
      dir.write("deck/top.cir",
                "t\n.include ../lib/cells.inc\n.lib \"../lib/m.lib\" TYP\nX1 x 0 cell\n"
                "D1 x 0 dm\nV1 x 0 1\n");
  std::vector<std::string> where;
  const Circuit c = sim::load_netlist(top, &where);
  EXPECT_DOUBLE_EQ(ohms(c, "r.x1.r1"), 2e3);
  EXPECT_DOUBLE_EQ(ohms(c, "Rmore"), 3e3);
  EXPECT_DOUBLE_EQ(ohms(c, "Rafter"), 5e3);  // past an included .end, as ngspice reads on
  EXPECT_EQ(c.models.at(0).saturation_current, 2e-14);
  const auto more = c.find_element("Rmore").value();
  EXPECT_THAT(where.at(more), HasSubstr("lib/more/r.inc:2 (included from "));
  EXPECT_THAT(where.at(more), HasSubstr("lib/cells.inc:5) (included from " + top.string() + ":2)"));
}

TEST(NetlistHierarchy, IncludeMistakesNameTheLine) {
  test_support::TempDir dir;
  dir.write("loop.inc", "R1 a 0 1k\n.include loop2.inc\n");
  dir.write("loop2.inc", ".include loop.inc\n");
  dir.write("bad.inc", "R7 a 0 1k\nR8 a 0 oops\n");
  dir.write("m.lib", ".lib typ\nR1 a 0 1\n");
  std::filesystem::create_directories(dir / "folder.inc");
  struct Case {
    std::string deck;
    std::vector<std::string> expected;
  };
  const Case cases[] = {
      {"t\n.include nothere.inc\n", {"top.cir:2:", "'.include nothere.inc'", "no file"}},
      {"t\n.include loop.inc\n", {"loop2.inc:1", "includes itself", "included from"}},
      {"t\n.include bad.inc\n", {"bad.inc:2 (included from ", "top.cir:2)", "'oops'"}},
      {"t\n.include folder.inc\n", {"top.cir:2:", "not a regular file"}},
      {"t\n.include\n", {"top.cir:2:", "needs a file name"}},
      {"t\n.lib m.lib fast\n", {"top.cir:2:", "no section 'fast'"}},
      {"t\n.lib m.lib typ\n", {"m.lib:2", "no '.endl'"}},
      {"t\n.lib typ\n", {"top.cir:2:", "'.lib' takes a file and a section"}},
      {"t\n.endl\n", {"top.cir:2:", "'.endl' outside"}},
  };
  for (const auto& c : cases) {
    const auto top = dir.write("top.cir", c.deck);
    try {
      sim::load_netlist(top);
      ADD_FAILURE() << "read without error:\n" << c.deck;
    } catch (const DataError& e) {
      for (const auto& s : c.expected) EXPECT_THAT(e.what(), HasSubstr(s)) << c.deck;
    }
  }
  // Includes nested deeper than the limit are refused, not followed.
  std::string chain;
  for (int k = 0; k < 30; ++k)
    dir.write(numbered("c", k) + ".inc", numbered(".include c", k + 1) + ".inc\n");
  dir.write("c30.inc", "R1 a 0 1k\n");
  try {
    sim::load_netlist(dir.write("top.cir", "t\n.include c0.inc\n"));
    ADD_FAILURE() << "a 31-deep include chain was read";
  } catch (const DataError& e) {
    EXPECT_THAT(e.what(), HasSubstr("nested deeper than 16"));
  }
}

TEST(NetlistHierarchy, MistakesNameTheFileTheLineAndTheCulprit) {
  struct Case {
    std::string deck;
    std::vector<std::string> expected;
  };
  const std::string cell = "t\n.subckt cell a b r=1k\nR1 a b {r}\n.ends\n";  // lines 1-4
  const Case cases[] = {
      {cell + "X1 x 0 y cell\n",
       {"deck.cir:5:", "'X1'", "3 nodes", "'cell' (deck.cir:2)", "2 pins"}},
      {cell + "X1 x cell\n", {"deck.cir:5:", "1 node,", "2 pins"}},
      {cell + "X1 x 0 nosuch\n", {"deck.cir:5:", "'X1'", "no subcircuit 'nosuch'"}},
      {cell + "X1\n", {"deck.cir:5:", "'X1'", "incomplete"}},
      {cell + "X1 x 0 cell q=2\n", {"deck.cir:5:", "no parameter 'q'"}},
      {cell + "X1 x 0 cell r=\n", {"deck.cir:5:", "'X1'", "'r' has no value"}},
      {cell + "X1 x 0 cell r={1/0}\n", {"deck.cir:5:", "parameter 'r'", "division by zero"}},
      {cell + "X1 x 0 cell\nX1 y 0 cell\n", {"deck.cir:6:", "'X1'", "twice"}},
      {cell + "X1 x ( cell\n", {"deck.cir:5:", "'('", "node"}},
      {"t\n.subckt c a b\nX1 a b c\n.ends\nX1 x 0 c\n", {"deck.cir:3:", "'c'", "recursion"}},
      {"t\n.subckt c a b\nX1 a b d\n.ends\n.subckt d a b\nX1 a b c\n.ends\nX1 x 0 c\n",
       {"deck.cir:6:", "'X1'", "'c' contains itself"}},
      {"t\n.subckt c a\n", {"deck.cir:2:", "'c'", "no '.ends'"}},
      {"t\n.ends\n", {"deck.cir:2:", "no '.subckt' open"}},
      {"t\n.subckt c a\n.ends d\n", {"deck.cir:3:", "'.ends d'", "'c'"}},
      {"t\n.subckt c a\n.ends\n.subckt C b\n.ends\n",
       {"deck.cir:4:", "'C'", "twice", "deck.cir:2"}},
      {"t\n.subckt c a a\n.ends\n", {"deck.cir:2:", "pin 'a'", "twice"}},
      {"t\n.subckt c 0\n.ends\n", {"deck.cir:2:", "ground"}},
      {"t\n.subckt\n", {"deck.cir:2:", "needs a name"}},
      {"t\n.subckt c a r\n.ends\nX1 x c\n", {"deck.cir:4:", "connects 1 node", "2 pins"}},
      {"t\n.subckt c a params: r\n.ends\n", {"deck.cir:2:", "expected NAME=VALUE", "'r'"}},
      {"t\n.subckt c a\n.global g\n.ends\n", {"deck.cir:3:", "'.global' inside"}},
      {"t\n.subckt c a r=1\n.param r=2\n.ends\nX1 x c\n", {"deck.cir:3:", "'r'", "also set"}},
      // ngspice evaluates this one in the subcircuit, unlike every other instance parameter.
      {"t\n.param g=1\n.subckt c a r=1\n.param g=5\nR1 a 0 {r}\n.ends\nX1 x c r={g*2}\n",
       {"deck.cir:7:", "'r' refers to 'g'", "(deck.cir:4)", "rename one"}},
      {"t\n.param a={b} b={a}\nR1 x 0 {a}\n", {"deck.cir:2:", "depends on itself"}},
      {"t\n.param a={a+1}\n", {"deck.cir:2:", "'a' refers to itself and no caller defines it"}},
      {"t\n.param a=1 b\n", {"deck.cir:2:", "parameter 'a'", "unexpected 'b'"}},
      {"t\n.param unused={1/0}\nR1 x 0 1k\n", {"deck.cir:2:", "'unused'", "division by zero"}},
      {cell + ".subckt d a q=2\n.param z={q/0}\n.ends\nX1 x d\n", {"deck.cir:6:", "'z'"}},
      {"t\n.param 1a=2\n", {"deck.cir:2:", "'1a'", "not a parameter name"}},
      {"t\n.param a=\n", {"deck.cir:2:", "'a' has no value"}},
      {"t\n.param a={2*}\nR1 x 0 {a}\n", {"deck.cir:2:", "parameter 'a'", "(in '2*')"}},
      {"t\nR1 x 0 {nope}\n", {"deck.cir:2:", "'R1'", "no parameter 'nope'"}},
      {"t\nR1 x 0 {1\n", {"deck.cir:2:", "no closing }"}},
      {"t\nR1 x 0 '1\n", {"deck.cir:2:", "no closing '"}},
      {"t\nR1 x 0 {-1k}\n", {"deck.cir:2:", "'R1'", "positive"}},
      {"t\nR1 {a} 0 1k\n", {"deck.cir:2:", "'{a}'", "node"}},
      {"t\nR1 x 0 {" + std::string(300, '(') + "1" + std::string(300, ')') + "}\n",
       {"deck.cir:2:", "nested deeper than 256"}},
      {"t\nV1 x 0 1\nR1 x 0 1k\nXbig x 0 big\n", {"deck.cir:4:", "no subcircuit 'big'"}},
  };
  for (const auto& c : cases) {
    const std::string message = error_of(c.deck);
    for (const auto& s : c.expected) EXPECT_THAT(message, HasSubstr(s)) << c.deck;
  }
}

TEST(NetlistHierarchy, ExpansionIsBounded) {
  // Ten levels of ten instances: 1e10 resistors if expanded; refused at the limit instead.
  std::string deck = "t\n.subckt l0 a\nR1 a 0 1k\n.ends\n";
  for (int k = 1; k <= 10; ++k) {
    deck += numbered(".subckt l", k) + " a\n";
    for (int i = 0; i < 10; ++i) deck += numbered("X", i) + numbered(" a l", k - 1) + "\n";
    deck += ".ends\n";
  }
  deck += "Xtop x l10\n";
  sim::NetlistLimits limits;
  limits.cards = 10000;
  EXPECT_THAT(error_of(deck, limits), HasSubstr("more than 10000 elements"));
  // A chain of distinct subcircuits deeper than the limit.
  std::string chain = "t\n.subckt s0 a\nR1 a 0 1k\n.ends\n";
  for (int k = 1; k <= 150; ++k)
    chain += numbered(".subckt s", k) + numbered(" a\nX1 a s", k - 1) + "\n.ends\n";
  chain += "Xtop x s150\n";
  EXPECT_THAT(error_of(chain), HasSubstr("nested deeper than 100"));
  // A chain of parameters, each referring to the one before.
  std::string params = "t\n.param p0=1\n";
  for (int k = 1; k <= 1000; ++k)
    params += numbered(".param p", k) + numbered("={p", k - 1) + "+1}\n";
  params += "R1 x 0 {p1000}\n";
  EXPECT_THAT(error_of(params), HasSubstr("nested deeper than"));
}

TEST(NetlistHierarchy, CardFormsNgspiceDecksUse) {
  const Circuit c = read(
      "forms\r\n"
      "V1\tin\t0\tDC 1 AC 1\r\n"
      "V2 p 0 pulse(0.3 1 1n 1n 1n 1u 2u)\r\n"
      "V3 s 0 dc 0.25 sin(0 1 1k)\r\n"
      "R1 in a r=1k $ comment\r\n"
      "R2 a 0 1k tc1=0.01 // comment\r\n"
      "R3 p a 2k m=4\r\n"
      "R4 s a resistance = 3k\r\n"
      "D1 a 0 dslow\r\n"
      ".model dslow d is=1e-15 n=1.2\r\n"
      "+ cjo=2p m=0.4 vj=0.7 tt=1n\r\n"
      ".temp 27\r\n"
      ".options temp=27 tnom=27 gmin=1e-12 reltol=1e-4\r\n");  // no .end
  EXPECT_EQ(c.elements.at(c.find_element("V1").value()).value, 1.0);
  EXPECT_EQ(c.elements.at(c.find_element("V2").value()).value, 0.3);
  EXPECT_EQ(c.elements.at(c.find_element("V3").value()).value, 0.25);
  EXPECT_DOUBLE_EQ(ohms(c, "R1"), 1e3);
  EXPECT_DOUBLE_EQ(ohms(c, "R3"), 500.0);
  EXPECT_DOUBLE_EQ(ohms(c, "R4"), 3e3);
  EXPECT_EQ(c.models.at(0).saturation_current, 1e-15);
  EXPECT_EQ(c.models.at(0).emission, 1.2);
  // A title is text: an apostrophe there opens no expression.
  EXPECT_EQ(read("t\n.title it's mine\nR1 a 0 1\n").title, "it's mine");
}
