// The virtual bench as a client sees it: plain sockets and a raw PTY, SCPI text and blocks, the
// physics bit for bit equal to the same device in-process, its timing (latency, settle ramp),
// refusals, and every injected fault.

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "core/error.hpp"
#include "instruments/bench_layout.hpp"
#include "served_virtual_bench.hpp"
#include "sim/hopfield/hopfield_device.hpp"
#include "sim/virtual_bench/virtual_bench.hpp"
#include "sim/virtual_bench/virtual_scpi_parser.hpp"

using namespace aeqlab;
using Clock = std::chrono::steady_clock;

using namespace aeqlab::test;

// ---------------------------------------------------------------------------------------------
// The text layer on its own.

TEST(VirtualScpi, FramerKeepsBlocksWholeAndStripsCarriageReturns) {
  sim::scpi::Framer f;
  const std::string payload = "a\nb;\r";  // a block may hold terminators and separators
  const std::string msg = "VOLT:BLOC (@1)," + sim::scpi::format_block(payload) + "\r\n";
  for (char c : msg + "*IDN?\r\n\n") f.feed(std::string_view(&c, 1));  // byte by byte
  auto first = f.next();
  ASSERT_TRUE(first);
  EXPECT_EQ(*first, msg.substr(0, msg.size() - 2));
  EXPECT_EQ(f.next().value_or(""), "*IDN?");
  EXPECT_FALSE(f.next());  // the empty line is not a message
}

TEST(VirtualScpi, HeadersMatchLongShortAndOptionalForms) {
  const sim::scpi::HeaderPattern p("[SOURce:]VOLTage[:LEVel]");
  for (const char* h : {"VOLT", "volt", "SOUR:VOLT", "source:voltage:level", "VOLT:LEV"})
    EXPECT_TRUE(p.matches(h)) << h;
  for (const char* h : {"VOL", "SOUR", "VOLT:LIST", "SOUR::VOLT", "VOLTAGES"})
    EXPECT_FALSE(p.matches(h)) << h;
  const auto cmd = sim::scpi::parse_command(":VOLT:LIST 1, 2 ,(@1:2,5)");
  EXPECT_EQ(cmd.header, "VOLT:LIST");
  ASSERT_EQ(cmd.params.size(), 3u);
  EXPECT_EQ(cmd.params[1], "2");
  EXPECT_EQ(sim::scpi::parse_channels(cmd.params[2], 8), (std::vector<int>{1, 2, 5}));
  EXPECT_EQ(sim::scpi::parse_channels("(@3:1)", 8), (std::vector<int>{3, 2, 1}));
  try {
    sim::scpi::parse_channels("(@1:2000000000)", 8);
    FAIL();
  } catch (const sim::scpi::Error& e) {
    EXPECT_EQ(e.code, -221);
  }
}

TEST(VirtualOptions, ParsesEveryKeyAndNamesTheCulprit) {
  const auto o = sim::parse_virtual_options(
      nlohmann::json::parse(R"({"latency_ms": 5, "settle_ms": 20, "noise": 0.01, "dac_bits": 12,
        "adc_bits": 16, "seed": 7, "bind": "127.0.0.1", "tcp": true, "pty": false,
        "device": {"type": "hopfield"},
        "faults": [{"instrument": "adc_outputs", "kind": "garbled", "after": 3, "count": 0}]})"),
      "bench.json");
  EXPECT_DOUBLE_EQ(o.latency_s, 0.005);
  EXPECT_DOUBLE_EQ(o.settle_s, 0.02);
  EXPECT_EQ(o.dac_bits, 12);
  EXPECT_EQ(o.seed, 7u);
  EXPECT_FALSE(o.pty);
  ASSERT_EQ(o.faults.size(), 1u);
  EXPECT_EQ(o.faults[0].kind, "garbled");
  EXPECT_EQ(o.faults[0].after, 3u);
  EXPECT_EQ(o.faults[0].count, 0u);

  auto message = [](const char* text) {
    try {
      sim::parse_virtual_options(nlohmann::json::parse(text), "bench.json");
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(message(R"({"latency": 5})").find("bench.json: virtual.latency: unknown key"),
            std::string::npos);
  EXPECT_NE(message(R"({"settle_ms": "fast"})").find("virtual.settle_ms"), std::string::npos);
  EXPECT_NE(message(R"({"faults": [{"instrument": "x", "kind": "smoke"}]})")
                .find("virtual.faults[0].kind"),
            std::string::npos);
}

TEST(BenchLayout, ChunksLargeGroupsOverInstruments) {
  sim::HopfieldDevice d(spec_432());
  const auto b = instruments::virtual_bench_layout(d.describe(), 5, true);
  // Knobs W0 (12), W1 (6), b1 (3), b2 (2): 23 channels over five 5-channel DACs.
  ASSERT_EQ(b.knobs.size(), 4u);
  ASSERT_EQ(b.knobs[0].map.size(), 3u);
  EXPECT_EQ(b.knobs[0].map[2].instrument, "dac_knobs_3");
  EXPECT_EQ(b.knobs[0].map[2].channels, (std::vector<int>{1, 2}));
  EXPECT_EQ(b.knobs[3].map.back().instrument, "dac_knobs_5");
  EXPECT_EQ(b.parameters[1].compliance, d.describe().parameters[1].compliance);
  EXPECT_EQ(b.parameter_setpoints.size(), 4u);
  EXPECT_EQ(b.nudge_strength.map[0].channels, (std::vector<int>{3}));
  ASSERT_TRUE(b.homeostat && b.compliance);
  EXPECT_EQ(b.compliance->map[0].channels, (std::vector<int>{1, 2, 3, 4}));
  EXPECT_EQ(b.homeostat->map[0].instrument, "dac_nudge");
  EXPECT_EQ(b.homeostat->map[0].channels, (std::vector<int>{4}));
  EXPECT_EQ(b.name, d.describe().model + " (virtual bench)");
}

// ---------------------------------------------------------------------------------------------
// Served.

TEST(VirtualBench, IdentifiesOverTcpAndPty) {
  Served s;
  for (const auto& i : s.instruments) {
    ASSERT_FALSE(i.tcp.empty());
    ASSERT_FALSE(i.pty.empty());
    auto tcp = Wire::tcp(i.tcp);
    auto pty = Wire::pty(i.pty);
    EXPECT_EQ(tcp.query("*IDN?\n"), i.idn);
    EXPECT_EQ(pty.query("*idn?\r\n"), i.idn);
  }
  EXPECT_EQ(s.at("dac_inputs").idn, "AEQLAB,VDAC-4,dac_inputs,0.1");
  EXPECT_EQ(s.at("dac_nudge").idn, "AEQLAB,VDAC-4,dac_nudge,0.1");
  EXPECT_EQ(s.at("adc_outputs").idn, "AEQLAB,VADC-2,adc_outputs,0.1");
  EXPECT_EQ(s.at("dac_knobs_1").idn, "AEQLAB,VDAC-23,dac_knobs_1,0.1");
  EXPECT_EQ(s.tcp("dac_control").query("SYST:CHAN?\n"), "4");
}

TEST(VirtualBench, TrainsBitForBitLikeTheDeviceInProcess) {
  Served s;
  sim::HopfieldDevice ref(spec_432());
  const std::vector<double> x{0.2, 0.9, 0.4, 0.7}, targets{0.5, -0.3};
  std::vector<double> knobs(ref.describe().knob_count());
  ref.read_knobs(knobs);
  for (std::size_t i = 0; i < knobs.size(); ++i) knobs[i] += 0.01 * double(i % 5) - 0.02;

  auto inputs = s.tcp("dac_inputs");
  auto nudge = s.tcp("dac_nudge");
  auto knob_dac = s.tcp("dac_knobs_1");
  auto outputs = s.tcp("adc_outputs");
  auto parameters = Wire::pty(s.at("adc_parameters_1").pty);

  inputs.write("SOUR:VOLT:LIST " + list_of(x) + ",(@1:4)");
  nudge.write("VOLT:LIST 0.5,-0.3,(@1:2);:VOLT 0.5,(@3)");
  knob_dac.write("VOLT:BLOC (@1:23)," + block_of(knobs));
  ref.set_inputs(x, 1);
  ref.set_nudge(0.5, targets);
  ref.set_knobs(knobs);
  ref.settle();

  std::vector<double> y(2), theta(23), u(23);
  ref.read_outputs(y);
  ref.read_parameters(theta);
  const auto got_y = numbers(outputs.query("MEAS? (@1:2)\n"));
  const auto got_theta = block_values(parameters.query("MEAS:VOLT:BLOC? (@1:23)\n"));
  ASSERT_EQ(got_y.size(), 2u);
  ASSERT_EQ(got_theta.size(), 23u);
  for (std::size_t i = 0; i < 2; ++i) EXPECT_NEAR(got_y[i], y[i], 1e-12);
  for (std::size_t i = 0; i < 23; ++i) EXPECT_NEAR(got_theta[i], theta[i], 1e-12);
  EXPECT_EQ(s.bench.tally().settles, 1u);  // three instruments written, one settle

  // Native homeostasis through the switch on the nudge DAC: the device moves the knobs, and a
  // DAC query of a knob channel shows where they went.
  nudge.write("VOLT 1,(@4)");
  nudge.write("VOLT -0.25,(@3)");
  ref.set_nudge(-0.25, targets);
  ref.settle_homeostatic();
  ref.read_outputs(y);
  ref.read_knobs(u);
  const auto hold_y = numbers(outputs.query("MEASure:VOLTage:DC? (@1,2)\n"));
  for (std::size_t i = 0; i < 2; ++i) EXPECT_NEAR(hold_y[i], y[i], 1e-12);
  const auto got_u = block_values(knob_dac.query("VOLT:BLOC? (@1:23)\n"));
  ASSERT_EQ(got_u.size(), 23u);
  for (std::size_t i = 0; i < 23; ++i) EXPECT_NEAR(got_u[i], u[i], 1e-12);
  EXPECT_NE(got_u, knobs);
  EXPECT_EQ(s.bench.tally().settles, 2u);

  const auto t = s.bench.tally();
  EXPECT_EQ(t.writes, 6u);
  EXPECT_EQ(t.values, 4u + 2u + 1u + 23u + 1u + 1u);
  EXPECT_EQ(t.out_of_range, 0u);
}

TEST(VirtualBench, BlocksCarryNewlinesAndSemicolonsBothWays) {
  Served s;
  auto dac = s.tcp("dac_knobs_1");
  // Values whose bytes hold "\n" and ";": the framer must take the block's length on trust.
  std::vector<double> v;
  for (std::uint64_t low : {0x0A0Aull, 0x3B0Aull, 0x0A3Bull, 0x0D0Aull})
    v.push_back(std::bit_cast<double>(0x3FE0000000000000ull | low));
  const std::string block = block_of(v);
  ASSERT_NE(block.find('\n'), std::string::npos);
  ASSERT_NE(block.find(';'), std::string::npos);
  EXPECT_EQ(dac.query("VOLT:BLOC (@3:6)," + block + ";:VOLT:BLOC? (@3:6);SYST:ERR?\n"), block);
  EXPECT_EQ(dac.reply().value_or(""), "0,\"No error\"");
  EXPECT_EQ(numbers(dac.query("VOLT? (@3:6)\n")), v);

  dac.send("VOLT:BLOC (@1:2)," + block_of({0.1}) + "\n");  // 8 bytes for 2 channels
  EXPECT_EQ(dac.query("SYST:ERR?\n").substr(0, 5), "-160,");
}

TEST(VirtualBench, ChainedCommandsReportErrorsInOrder) {
  Served s;
  auto dac = s.tcp("dac_inputs");
  dac.send(
      "VOLT 0.5,(@1:2);:VOLT? (@1:4);FOO:BAR 3;VOLT:LIST 0.1,(@1:2);SYST:ERR?;SYST:ERR?;"
      "SYST:ERR?\n");
  EXPECT_EQ(dac.reply().value_or(""), "0.5,0.5,0,0");
  EXPECT_EQ(dac.reply().value_or(""), "-113,\"Undefined header; FOO:BAR\"");
  EXPECT_EQ(dac.reply().value_or("").substr(0, 5), "-109,");
  EXPECT_EQ(dac.reply().value_or(""), "0,\"No error\"");
  dac.send("VOLT? (@9);VOLT 0.3;VOLT abc,(@1);*CLS;SYST:ERR?\n");  // no reply for the bad query
  EXPECT_EQ(dac.reply().value_or(""), "0,\"No error\"");
  dac.send("VOLT? (@9);VOLT 0.3;VOLT abc,(@1);SYST:ERR?;SYST:ERR?;SYST:ERR?\n");
  EXPECT_EQ(dac.reply().value_or("").substr(0, 5), "-221,");
  EXPECT_EQ(dac.reply().value_or("").substr(0, 5), "-109,");
  EXPECT_EQ(dac.reply().value_or("").substr(0, 5), "-104,");
}

TEST(VirtualBench, RefusesOutOfRangeWritesWhole) {
  Served s;
  auto dac = s.tcp("dac_inputs");
  dac.write("VOLT 0.25,(@1:4)");
  EXPECT_EQ(dac.query("VOLT 1.5,(@2);SYST:ERR?\n"),
            "-222,\"Data out of range; channel 2 value 1.5 outside [0, 1]\"");
  dac.send("VOLT:LIST 0.5,0.5,-3,nan,(@1:4);SYST:ERR?\n");
  EXPECT_NE(dac.reply().value_or("").find("channel 3 value -3 outside [0, 1]"), std::string::npos);
  EXPECT_EQ(dac.query("VOLT? (@1:4)\n"), "0.25,0.25,0.25,0.25");  // nothing applied
  EXPECT_EQ(s.bench.tally().out_of_range, 3u);

  // Full queue: 20 entries, the last one replaced by the overflow notice.
  std::string many;
  for (int i = 0; i < 25; ++i) many += "NOPE;";
  dac.send(many + "SYST:ERR:COUN?\n");
  EXPECT_EQ(dac.reply().value_or(""), "20");
  for (int i = 0; i < 19; ++i) dac.send("SYST:ERR?\n");
  for (int i = 0; i < 19; ++i) EXPECT_EQ(dac.reply().value_or("").substr(0, 5), "-113,");
  EXPECT_EQ(dac.query("SYST:ERR?\n"), "-350,\"Queue overflow\"");
}

TEST(VirtualBench, UnknownHeadersAndWrongInstrumentCommands) {
  Served s;
  auto adc = s.tcp("adc_outputs");
  EXPECT_EQ(adc.query("VOLT 0.1,(@1);SYST:ERR?\n"), "-113,\"Undefined header; VOLT\"");
  EXPECT_EQ(adc.query("MEAS:CURR? (@1);SYST:ERR?\n"), "-113,\"Undefined header; MEAS:CURR?\"");
  EXPECT_EQ(numbers(adc.query("MEAS:VOLT? (@1:2)\n")).size(), 2u);
}

TEST(VirtualBench, QuantisesSetAndMeasuredValues) {
  sim::VirtualOptions o;
  o.dac_bits = 2;  // inputs in [0, 1]: 0, 1/3, 2/3, 1
  o.noise = 0.05;
  Served s(layout(), o);
  auto dac = s.tcp("dac_inputs");
  dac.write("VOLT 0.4,(@1)");
  EXPECT_DOUBLE_EQ(numbers(dac.query("VOLT? (@1)\n"))[0], 1.0 / 3.0);
  auto adc = s.tcp("adc_outputs");
  EXPECT_NE(adc.query("MEAS? (@1)\n"), adc.query("MEAS? (@1)\n"));  // noise
}

TEST(VirtualBench, EachMessageTakesTheLatencyAndInstrumentsRunConcurrently) {
  sim::VirtualOptions o;
  o.latency_s = 0.15;
  Served s(layout(), o);
  auto a = s.tcp("dac_inputs");
  auto b = s.tcp("adc_outputs");
  const auto t0 = Clock::now();
  a.send("*IDN?\n");
  b.send("*IDN?\n");
  EXPECT_TRUE(a.reply());
  EXPECT_TRUE(b.reply());
  const double took = seconds_since(t0);
  EXPECT_GE(took, 0.15);
  EXPECT_LT(took, 0.29);  // not one after the other
}

TEST(VirtualBench, ReadingsRampUntilTheSettleTimeThenHoldTheEquilibrium) {
  sim::VirtualOptions o;
  o.settle_s = 0.2;  // generous: the early reading must come well before it on a loaded machine
  Served s(layout(), o);
  auto dac = s.tcp("dac_inputs");
  auto adc = s.tcp("adc_outputs");
  const auto before = numbers(adc.query("MEAS? (@1:2)\n"));
  EXPECT_EQ(s.bench.tally().settles, 0u);

  dac.write("VOLT:LIST 1,1,0,1,(@1:4)");
  const auto early = numbers(adc.query("MEAS? (@1:2)\n"));
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  const auto after = numbers(adc.query("MEAS? (@1:2)\n"));
  EXPECT_EQ(s.bench.tally().settles, 1u);  // the early reading settled; the timer had no more

  sim::HopfieldDevice ref(spec_432());
  std::vector<double> y(2);
  ref.set_inputs(std::vector<double>{1, 1, 0, 1}, 1);
  ref.settle();
  ref.read_outputs(y);
  std::size_t moved = 0;
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_NEAR(after[i], y[i], 1e-12);
    if (std::abs(after[i] - before[i]) < 1e-9) continue;
    ++moved;
    const double f = (early[i] - before[i]) / (after[i] - before[i]);
    EXPECT_GT(f, 0.0) << "output " << i;
    EXPECT_LT(f, 0.5) << "output " << i;
  }
  EXPECT_GT(moved, 0u);

  // Nobody reading: the timer settles the physics by itself, once.
  dac.write("VOLT 0.5,(@2)");
  std::this_thread::sleep_for(std::chrono::milliseconds(350));
  EXPECT_EQ(s.bench.tally().settles, 2u);
}

TEST(VirtualBench, InjectsEveryFaultKind) {
  sim::VirtualOptions o;
  o.faults = {{"dac_inputs", "no_reply", 1, 1, -300, ""},
              {"dac_nudge", "garbled", 0, 1, -300, ""},
              {"adc_outputs", "disconnect", 1, 1, -300, ""},
              {"dac_control", "error", 0, 1, -330, "Self-test failed"}};
  Served s(layout(), o);

  auto inputs = s.tcp("dac_inputs");
  EXPECT_TRUE(inputs.query("*IDN?\n").starts_with("AEQLAB"));
  inputs.send("*IDN?\n");
  EXPECT_FALSE(inputs.reply(200));  // swallowed
  EXPECT_TRUE(inputs.query("*IDN?\n").starts_with("AEQLAB"));

  auto nudge = s.tcp("dac_nudge");
  EXPECT_EQ(nudge.query("*IDN?\n"), "\x15#9?garbled~~");
  EXPECT_EQ(nudge.query("*IDN?\n"), s.at("dac_nudge").idn);

  auto outputs = s.tcp("adc_outputs");
  EXPECT_EQ(outputs.query("*OPC?\n"), "1");
  outputs.send("*IDN?\n");
  EXPECT_TRUE(outputs.peer_closed(1000));
  auto again = s.tcp("adc_outputs");  // the listener still takes connections
  EXPECT_EQ(again.query("*IDN?\n"), s.at("adc_outputs").idn);

  auto control = Wire::pty(s.at("dac_control").pty);
  EXPECT_EQ(control.query("*OPC?\n"), "1");                              // processed normally...
  EXPECT_EQ(control.query("SYST:ERR?\n"), "-330,\"Self-test failed\"");  // ...plus an error
  EXPECT_EQ(control.query("SYST:ERR?\n"), "0,\"No error\"");
}

TEST(VirtualBench, SerialAddressesBecomeLinksToThePty) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("aeqlab-vbench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto link = dir / "dac0";
  std::filesystem::create_symlink("/nonexistent", link);  // a stale link is replaced
  auto bench = layout();
  bench.instruments[0].address = "serial://" + link.string() + "?baud=115200";
  {
    Served s(bench);
    EXPECT_EQ(s.instruments[0].link, link.string());
    ASSERT_TRUE(std::filesystem::is_symlink(link));
    EXPECT_EQ(std::filesystem::read_symlink(link).string(), s.instruments[0].pty);
    auto port = Wire::pty(link.string());
    EXPECT_EQ(port.query("*IDN?\n"), s.instruments[0].idn);
  }
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::symlink_status(link)));

  std::ofstream(link) << "not a port";
  sim::HopfieldDevice device(spec_432());
  sim::VirtualBench refused(device, bench, {});
  try {
    refused.start();
    ADD_FAILURE() << "a regular file was replaced";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(link.string()), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("dac_inputs"), std::string::npos) << e.what();
  }
  std::filesystem::remove_all(dir);
}

TEST(VirtualBench, ListensOnTheRequestedPortOrSaysItIsTaken) {
  const int holder = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(holder, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  ASSERT_EQ(::listen(holder, 1), 0);
  socklen_t len = sizeof sa;
  ::getsockname(holder, reinterpret_cast<sockaddr*>(&sa), &len);
  const int port = ntohs(sa.sin_port);

  auto bench = layout();
  bench.instruments[2].address = "tcp://127.0.0.1:" + std::to_string(port);
  sim::HopfieldDevice device(spec_432());
  sim::VirtualBench taken(device, bench, {});
  try {
    taken.start();
    ADD_FAILURE() << "port " << port << " was taken";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("adc_outputs"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(std::to_string(port)), std::string::npos) << e.what();
  }
  ::close(holder);
  Served s(bench);
  EXPECT_EQ(s.at("adc_outputs").tcp, "tcp://127.0.0.1:" + std::to_string(port));
}

TEST(VirtualBench, RefusesBenchesTheVirtualInstrumentsCannotServe) {
  sim::HopfieldDevice device(spec_432());
  auto wrong_profile = layout();
  wrong_profile.instruments[0].profile = "keysight-34465a";
  EXPECT_THROW(sim::VirtualBench(device, wrong_profile, {}), ConfigError);
  auto wrong_count = layout();
  wrong_count.inputs.group.count = 3;
  wrong_count.inputs.map[0].channels.pop_back();
  EXPECT_THROW(sim::VirtualBench(device, wrong_count, {}), ConfigError);
  sim::VirtualOptions o;
  o.faults = {{"nobody", "garbled", 0, 1, -300, ""}};
  EXPECT_THROW(sim::VirtualBench(device, layout(), o), ConfigError);
}

namespace {

std::string refusal(const instruments::BenchConfig& bench) {
  sim::HopfieldDevice device(spec_432());
  try {
    sim::VirtualBench refused(device, bench, {});
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(VirtualBench, NamesTheRoleWhoseChannelsDoNotFitThePhysics) {
  auto two_switches = layout();
  two_switches.homeostat->group.count = 2;
  two_switches.homeostat->map[0].channels.push_back(99);
  EXPECT_NE(refusal(two_switches).find("channels.homeostat: 2 channels, but the physics"),
            std::string::npos)
      << refusal(two_switches);

  auto fewer_knobs = layout();
  fewer_knobs.knobs.pop_back();
  EXPECT_NE(refusal(fewer_knobs).find("channels.knobs: "), std::string::npos)
      << refusal(fewer_knobs);

  sim::HopfieldDevice d(spec_432());
  auto short_setpoints = instruments::virtual_bench_layout(d.describe(), 65536, true);
  short_setpoints.parameter_setpoints[0].group.count -= 1;
  short_setpoints.parameter_setpoints[0].map[0].channels.pop_back();
  EXPECT_NE(refusal(short_setpoints).find("channels.parameter_setpoints[0]: "), std::string::npos)
      << refusal(short_setpoints);

  auto one_compliance = layout();
  one_compliance.compliance->group.count = 1;
  one_compliance.compliance->map[0].channels.resize(1);
  EXPECT_NE(refusal(one_compliance).find("channels.compliance: 1 channels"), std::string::npos)
      << refusal(one_compliance);

  EXPECT_EQ(refusal(layout()), "");
}
