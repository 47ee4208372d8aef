// The SPICE netlist subset, both ways: what is read (suffixes, continuation lines, comments,
// models, the ideal-diode extension, ngspice decks with their control blocks), what is refused
// (each error naming file, line and token), and writing then reading giving the same circuit
// bit for bit.

#include <bit>
#include <cmath>
#include <cstdint>
#include <sstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "../../core/temp_dir.hpp"
#include "circuit_networks.hpp"
#include "core/error.hpp"
#include "sim/circuit/circuit_netlist.hpp"

using namespace aeqlab;
using aeqlab::sim::Circuit;
using aeqlab::sim::ElementKind;
using ::testing::HasSubstr;

namespace {

Circuit read(const std::string& text) {
  std::istringstream in(text);
  return sim::read_netlist(in, "deck.cir");
}

// The message of the DataError reading `text` throws, or a failure if it reads.
std::string error_of(const std::string& text) {
  try {
    read(text);
  } catch (const DataError& e) {
    return e.what();
  }
  ADD_FAILURE() << "read without error:\n" << text;
  return "";
}

const sim::Element& element(const Circuit& c, const std::string& name) {
  const auto i = c.find_element(name);
  EXPECT_TRUE(i.has_value()) << name;
  return c.elements.at(i.value_or(0));
}

std::uint64_t bits(double v) {
  return std::bit_cast<std::uint64_t>(v);
}

void expect_same_bits(const Circuit& x, const Circuit& y) {
  EXPECT_EQ(x.title, y.title);
  ASSERT_EQ(x.nodes, y.nodes);
  ASSERT_EQ(x.models.size(), y.models.size());
  for (std::size_t m = 0; m < x.models.size(); ++m) {
    EXPECT_EQ(x.models[m].name, y.models[m].name);
    EXPECT_EQ(x.models[m].ideal, y.models[m].ideal);
    if (x.models[m].ideal) continue;
    EXPECT_EQ(bits(x.models[m].saturation_current), bits(y.models[m].saturation_current));
    EXPECT_EQ(bits(x.models[m].emission), bits(y.models[m].emission));
  }
  ASSERT_EQ(x.elements.size(), y.elements.size());
  for (std::size_t i = 0; i < x.elements.size(); ++i) {
    const auto &p = x.elements[i], &q = y.elements[i];
    EXPECT_EQ(p.name, q.name);
    EXPECT_EQ(p.kind, q.kind) << p.name;
    EXPECT_EQ(p.a, q.a) << p.name;
    EXPECT_EQ(p.b, q.b) << p.name;
    EXPECT_EQ(bits(p.value), bits(q.value)) << p.name << ": " << p.value << " vs " << q.value;
    if (p.kind == ElementKind::diode) {
      EXPECT_EQ(p.model, q.model) << p.name;
    }
  }
}

Circuit round_trip(const Circuit& c, std::string* text = nullptr) {
  std::ostringstream out;
  sim::write_netlist(c, out);
  if (text) *text = out.str();
  std::istringstream in(out.str());
  return sim::read_netlist(in, "written.cir");
}

}  // namespace

TEST(CircuitNetlist, SpiceNumbersAndTheirSuffixes) {
  const std::pair<const char*, double> cases[] = {
      {"1", 1.0},        {"-2.5", -2.5},  {"+.5", 0.5},    {"5.", 5.0},       {"2.5e-3", 2.5e-3},
      {"1E3", 1e3},      {"4.7k", 4.7e3}, {"4.7K", 4.7e3}, {"1meg", 1e6},     {"1MEG", 1e6},
      {"2Meg", 2e6},     {"3m", 3e-3},    {"3M", 3e-3},    {"10u", 10e-6},    {"10uF", 10e-6},
      {"100n", 100e-9},  {"5p", 5e-12},   {"7f", 7e-15},   {"2g", 2e9},       {"1t", 1e12},
      {"1kohm", 1e3},    {"1e-3k", 1.0},  {"2V", 2.0},     {"1mil", 25.4e-6}, {"0.1e1k", 1e3},
      {"1.5e+2m", 0.15},
  };
  for (const auto& [text, expected] : cases) {
    double v = 0.0;
    ASSERT_TRUE(sim::parse_spice_number(text, v)) << text;
    // The suffix is folded into the exponent, so "4.7k" is the double nearest 4700, exactly
    // what "4700" reads as.
    EXPECT_EQ(v, expected) << text;
  }
  for (const char* bad : {"", "k", "-", ".", "e3", "inf", "nan", "1.5.3", "2k5", "1_000", "x1"}) {
    double v = 0.0;
    EXPECT_FALSE(sim::parse_spice_number(bad, v)) << bad;
  }
}

TEST(CircuitNetlist, ReadsElementsModelsCommentsAndContinuations) {
  const Circuit c = read(
      "A divider with diodes\n"
      "* a comment line\n"
      "Vin In 0 DC 1.5\n"
      "V2 bias GND 0.25 ; an inline comment\n"
      "R1 in MID 4.7k\n"
      "r2 mid 0\n"
      "+ 1meg\n"
      "D1 mid out dfast\n"
      "D2 out bias DSLOW 1\n"
      "Ibias 0 out 10u\n"
      "\n"
      "   * an indented comment\n"
      ".model dfast D(IS=1e-12 N=1.5)\n"
      ".MODEL dslow d (is=2.5f, n=1.9)\n"
      ".model unused D\n"
      "+ (IS=1e-14)\n"
      ".end\n");
  EXPECT_EQ(c.title, "A divider with diodes");
  // First spellings kept, later ones folded onto them; "0" and "GND" are ground.
  EXPECT_EQ(c.nodes, (std::vector<std::string>{"0", "In", "bias", "MID", "out"}));
  ASSERT_EQ(c.elements.size(), 7u);
  EXPECT_EQ(element(c, "vin").kind, ElementKind::voltage_source);
  EXPECT_EQ(element(c, "Vin").value, 1.5);
  EXPECT_EQ(element(c, "V2").value, 0.25);
  EXPECT_EQ(element(c, "V2").b, 0u);
  const auto& r1 = element(c, "R1");
  EXPECT_EQ(r1.kind, ElementKind::resistor);
  EXPECT_EQ(r1.a, 1u);
  EXPECT_EQ(r1.b, 3u);
  EXPECT_EQ(r1.value, static_cast<double>(1.0L / 4700.0L));  // conductance, siemens
  EXPECT_EQ(element(c, "R2").value, 1e-6);
  EXPECT_EQ(element(c, "R2").b, 0u);
  const auto& d2 = element(c, "D2");
  EXPECT_EQ(d2.kind, ElementKind::diode);
  EXPECT_EQ(c.nodes[d2.a], "out");
  EXPECT_EQ(c.nodes[d2.b], "bias");
  ASSERT_EQ(c.models.size(), 3u);
  EXPECT_EQ(c.models[d2.model].name, "dslow");
  EXPECT_EQ(c.models[d2.model].saturation_current, 2.5e-15);
  EXPECT_EQ(c.models[d2.model].emission, 1.9);
  EXPECT_FALSE(c.models[d2.model].ideal);
  EXPECT_EQ(c.models[element(c, "D1").model].name, "dfast");
  EXPECT_EQ(c.models[2].saturation_current, 1e-14);
  EXPECT_EQ(c.models[2].emission, 1.0);  // SPICE's default N
  EXPECT_EQ(element(c, "Ibias").kind, ElementKind::current_source);
  EXPECT_EQ(element(c, "Ibias").value, 10e-6);
}

TEST(CircuitNetlist, ReadsAnNgspiceDeckSkippingWhatIsNotTheCircuit) {
  const Circuit c = read(
      "* the first line is the title even when it looks like a comment\n"
      ".title the real title\n"
      ".options reltol=1e-9 vntol=1e-12\n"
      "V1 a 0 1\n"
      "R1 a 0 1k\n"
      ".op\n"
      ".dc V1 0 1 0.1\n"
      ".print dc v(a)\n"
      ".control\n"
      "set numdgt=12\n"
      "R9 this is not netlist\n"
      "op\n"
      "wrdata out.txt all\n"
      "quit 0\n"
      ".endc\n"
      ".end\n"
      "R2 after the end is ignored\n");
  EXPECT_EQ(c.title, "the real title");
  EXPECT_EQ(c.elements.size(), 2u);
}

TEST(CircuitNetlist, ReadsTheIdealDiodeExtension) {
  const Circuit c = read(
      "ideal\n"
      "V1 b 0 0.3\n"
      "D1 x b clamp\n"
      "R1 x 0 1k\n"
      ".model clamp D(IDEAL=1)\n");
  ASSERT_EQ(c.models.size(), 1u);
  EXPECT_TRUE(c.models[0].ideal);
  std::string text;
  const Circuit back = round_trip(c, &text);
  EXPECT_THAT(text, HasSubstr(".model clamp D(IDEAL=1)\n"));
  EXPECT_TRUE(back.models[0].ideal);
  // The exported file warns, once, that SPICE will simulate a Shockley diode in its place.
  EXPECT_THAT(text, HasSubstr("* SPICE does not know IDEAL and ignores it"));
  EXPECT_THAT(text, HasSubstr("Shockley diode (IS=1e-14 N=1) instead"));
  EXPECT_EQ(text.find("ignores it"), text.rfind("ignores it"));
  std::string shockley;
  round_trip(read("t\nV1 a 0 1\nD1 a 0 d0\n.model d0 D(IS=1e-13)\n"), &shockley);
  EXPECT_EQ(shockley.find("IDEAL"), std::string::npos) << shockley;
  // IDEAL=0 is an ordinary Shockley diode.
  EXPECT_FALSE(read("t\n.model d0 D(IDEAL=0 IS=1e-13)\n").models[0].ideal);
}

TEST(CircuitNetlist, ErrorsNameTheFileTheLineAndTheCulprit) {
  struct Case {
    std::string deck;
    std::vector<std::string> expected;  // substrings of the message
  };
  const Case cases[] = {
      {"t\nR1 a 0 1k\nR1 b 0 2k\n", {"deck.cir:3:", "'R1'", "twice"}},
      {"t\nR1 a 0 1k\nr1 b 0 2k\n", {"deck.cir:3:", "'r1'", "twice"}},
      {"t\nD7 a 0 nosuch\nR1 a 0 1\n", {"deck.cir:2:", "'D7'", "'nosuch'", "not defined"}},
      {"t\n.model d1 D(IS=1e-14 RS=10)\n", {"deck.cir:2:", "'RS'", "only at its default"}},
      {"t\n.model d1 D(ikf=1m)\n", {"deck.cir:2:", "'ikf'"}},
      {"t\n.model d1 D(RS=0.1)\n", {"deck.cir:2:", "'RS'", "only at its default"}},
      {"t\n.model d1 D(level=3)\n", {"deck.cir:2:", "'level'"}},
      {"t\n.model d1 D(IS=1e-14\n+ BV=5)\n", {"deck.cir:3:", "'BV'"}},
      {"t\n.model d1 D(IS=-1)\n", {"deck.cir:2:", "IS", "positive"}},
      {"t\n.model d1 D(IS=abc)\n", {"deck.cir:2:", "'abc'", "not a number"}},
      {"t\n.model d1 D(IDEAL=1 N=1.2)\n", {"deck.cir:2:", "N", "ideal"}},
      {"t\n.model d1 D(IDEAL=2)\n", {"deck.cir:2:", "IDEAL", "'2'"}},
      {"t\n.model d1 D(IS=1e-14\n", {"deck.cir:2:", "')'"}},
      {"t\n.model d1 D(IS 1e-14)\n", {"deck.cir:2:", "PARAMETER=VALUE", "'IS'"}},
      {"t\n.model q1 NPN(BF=100)\n", {"deck.cir:2:", "'NPN'", "not supported"}},
      {"t\n.model d1 D\n.model D1 D\n", {"deck.cir:3:", "'D1'", "twice"}},
      {"t\nD1 a 0 dm 2\n.model dm D\n", {"deck.cir:2:", "area", "'2'"}},
      {"t\nD1 a 0 dm\n+ off\n.model dm D\n", {"deck.cir:3:", "'off'"}},
      {"t\nR1 a 0 0\n", {"deck.cir:2:", "'R1'", "'0'", "positive"}},
      {"t\nR1 a 0 -5k\n", {"deck.cir:2:", "'-5k'"}},
      {"t\nR1 a 0 1e999\n", {"deck.cir:2:", "'1e999'"}},
      {"t\nR1 a 0 ten\n", {"deck.cir:2:", "'ten'"}},
      {"t\nR1 a 0\n", {"deck.cir:2:", "'R1'", "no resistance"}},
      {"t\nR1 a\n", {"deck.cir:2:", "'R1'", "incomplete"}},
      {"t\nR1 a 0 1k dtemp=5\n", {"deck.cir:2:", "'dtemp'", "not supported"}},
      {"t\nR1 a 0 1k r=2k\n", {"deck.cir:2:", "second resistance"}},
      {"t\nR1 a 0 m=2\n", {"deck.cir:2:", "'R1'", "no resistance"}},
      {"t\nR1 a 0 1k m=0\n", {"deck.cir:2:", "m '0'"}},
      {"t\nR1 a 0 1k 2k\n", {"deck.cir:2:", "unexpected '2k'"}},
      {"t\nV1 a 0 DC 1 DISTOF1 1\n", {"deck.cir:2:", "'DISTOF1'"}},
      {"t\nV1 a 0 SIN(0 1 1k)\n", {"deck.cir:2:", "'SIN'", "without a DC value"}},
      {"t\nV1 a 0 DC 1 PULSE(0 1\n", {"deck.cir:2:", "'PULSE'", "no ')'"}},
      {"t\nV1 a 0 1 2\n", {"deck.cir:2:", "unexpected '2'"}},
      {"t\nC1 a 0 1u\n", {"deck.cir:2:", "'C1'", "not supported"}},
      {"t\nXamp a b opamp\n", {"deck.cir:2:", "'Xamp'"}},
      {"t\n.subckt inv a b\n", {"deck.cir:2:", "'inv'", "no '.ends'"}},
      {"t\n.include models.lib\n", {"deck.cir:2:", "'.include models.lib'", "no file"}},
      {"t\n.temp 50\n", {"deck.cir:2:", ".temp"}},
      {"t\n.options gmin=1e-10\n", {"deck.cir:2:", "'gmin'"}},
      {"t\n.func f(x) {x}\n", {"deck.cir:2:", "'.func'", "not supported"}},
      {"t\n.options reltol=1e-6\n+ TEMP=50\n", {"deck.cir:3:", "'TEMP'"}},
      {"t\n+ R1 a 0 1k\n", {"deck.cir:2:", "continuation"}},
      {"t\nR1 a 0 1k\n.control\nop\n", {"deck.cir:4:", ".control", ".endc"}},
  };
  for (const auto& c : cases) {
    const std::string message = error_of(c.deck);
    for (const auto& s : c.expected) EXPECT_THAT(message, HasSubstr(s)) << c.deck;
  }
}

TEST(CircuitNetlist, LoadsAndSavesFilesNamingThemInErrors) {
  test_support::TempDir dir;
  const auto file = dir.write("bad.cir", "title\nR1 a 0 1k\nR2 a 0 oops\n");
  try {
    sim::load_netlist(file);
    FAIL() << "read a bad netlist";
  } catch (const DataError& e) {
    EXPECT_THAT(e.what(), HasSubstr(file.string() + ":3:"));
    EXPECT_THAT(e.what(), HasSubstr("'oops'"));
  }
  EXPECT_THROW(sim::load_netlist(dir / "missing.cir"), DataError);
  const Circuit c = test_support::random_network(12, 3);
  sim::save_netlist(c, dir / "saved.cir");
  expect_same_bits(c, sim::load_netlist(dir / "saved.cir"));
}

TEST(CircuitNetlist, RoundTripIsBitExact) {
  // Resistors are written as ohms: the reciprocal is where bits get lost, so many conductances
  // over many decades, and a few that 1/(1/g) in double does not give back.
  Circuit c;
  c.title = "round trip";
  c.models.push_back({"dm", false, 1.2345678901234567e-13, 1.7320508075688772});
  c.models.push_back({"DI", true, 1e-14, 1.0});
  std::mt19937_64 rng(42);
  for (int i = 0; i < 20000; ++i) {
    const std::size_t a = c.node(test_support::name_of("n", i % 97));
    const std::size_t b = c.node(test_support::name_of("N", (i * 7 + 3) % 101));
    c.add(ElementKind::resistor, test_support::name_of("R", i), a, b,
          test_support::log_uniform(rng, 1e-12, 1e3));
  }
  c.add(ElementKind::resistor, "Rthird", 1, 0, 1.0 / 3.0);
  c.add(ElementKind::resistor, "Rtiny", 1, 0, 5e-324);
  c.add(ElementKind::voltage_source, "V1", 1, 0, 0.1 + 0.2);
  c.add(ElementKind::voltage_source, "Vneg", 2, 0, -1.0 / 7.0);
  c.add(ElementKind::current_source, "I1", 2, 3, 3.0000000000000004e-6);
  c.add(ElementKind::diode, "D1", 2, 3, 0.0, 0);
  c.add(ElementKind::diode, "D2", 3, 0, 0.0, 1);
  std::string text;
  const Circuit back = round_trip(c, &text);
  expect_same_bits(c, back);
  // Writing what was read gives the same text again.
  std::string again;
  round_trip(back, &again);
  EXPECT_EQ(text, again);
  // Readable values: a resistor read as "4.7k" is written as "4700".
  std::string small;
  round_trip(read("t\nR1 a 0 4.7k\nV1 a 0 DC 1.5\n"), &small);
  EXPECT_EQ(small, "t\nR1 a 0 4700\nV1 a 0 DC 1.5\n.end\n");
}

TEST(CircuitNetlist, RoundTripsTheGeneratedNetworks) {
  const Circuit random = test_support::random_network(60, 7);
  expect_same_bits(random, round_trip(random));
  const Circuit layered = test_support::layered_network({4, 8, 3}, false, 9).circuit;
  expect_same_bits(layered, round_trip(layered));
  const Circuit ideal = test_support::layered_network({4, 8, 3}, true, 9).circuit;
  expect_same_bits(ideal, round_trip(ideal));
}

TEST(CircuitNetlist, WriterRefusesWhatSpiceCouldNotReadBack) {
  Circuit c;
  c.title = "t";
  const std::size_t a = c.node("a");
  c.add(ElementKind::resistor, "Xr", a, 0, 1e-3);
  std::ostringstream out;
  EXPECT_THROW(sim::write_netlist(c, out), DataError);  // SPICE would read an X element
  c.elements[0].name = "R1";
  c.elements[0].value = 0.0;
  EXPECT_THROW(sim::write_netlist(c, out), DataError);  // no finite resistance
  c.elements[0].value = 1e-3;
  c.nodes[a] = "a b";
  EXPECT_THROW(sim::write_netlist(c, out), DataError);  // two tokens
}
