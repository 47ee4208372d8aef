// A standard VISA client talks to the virtual bench: PyVISA with the pyvisa-py backend, over a
// raw TCP socket and over the pseudo-terminal, gets *IDN?, a measurement and the error queue.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "program_fixture.hpp"
#include "served_bench.hpp"

namespace aeqlab::e2e {
namespace {

class PyVisa : public ProgramTest {};

TEST_F(PyVisa, TalksToTheVirtualBenchOverTcpAndPseudoTerminal) {
  const auto config = write("config.json", R"({"device": {"layers": [2, 6, 2]}})");
  ServedBench serve(tmp_.string(), {"--config", config.string()});
  std::string tcp, pty;
  for (const auto& i : serve.ready)
    if (i["instrument"] == "adc_outputs") {
      tcp = i["tcp"];
      pty = i["pty"];
    }
  ASSERT_FALSE(tcp.empty());
  ASSERT_FALSE(pty.empty());
  const auto colon = tcp.rfind(':');
  const std::string port = tcp.substr(colon + 1);
  write("client.py", R"py(import sys, pyvisa
port, pty = sys.argv[1], sys.argv[2]
rm = pyvisa.ResourceManager("@py")
for res in ("TCPIP::127.0.0.1::%s::SOCKET" % port, "ASRL%s::INSTR" % pty):
    inst = rm.open_resource(res)
    inst.read_termination = "\n"
    inst.write_termination = "\n"
    inst.timeout = 5000
    idn = inst.query("*IDN?")
    volts = [float(v) for v in inst.query("MEAS:VOLT? (@1:2)").split(",")]
    err = inst.query("SYST:ERR?")
    inst.write("NO:SUCH:COMMAND")
    bad = inst.query("SYST:ERR?")
    print(res, "|", idn, "|", len(volts), "|", err, "|", bad)
    inst.close()
)py");
  std::string cmd = "/usr/bin/python3 ";
  cmd += quote((tmp_ / "client.py").string());
  cmd += ' ';
  cmd += port;
  cmd += ' ';
  cmd += quote(pty);
  cmd += " >";
  cmd += quote((tmp_ / "client.out").string());
  cmd += " 2>&1";
  const int status = std::system(cmd.c_str());
  const std::string out = read_file(tmp_ / "client.out");
  ASSERT_EQ(status, 0) << out;
  serve.stop();
  // Two resources, each: identity, two readings, an empty queue, then the undefined header.
  std::size_t lines = 0;
  for (std::size_t at = 0; (at = out.find("AEQLAB,VADC", at)) != std::string::npos; ++at) ++lines;
  EXPECT_EQ(lines, 2u) << out;
  EXPECT_NE(out.find("TCPIP::127.0.0.1"), std::string::npos) << out;
  EXPECT_NE(out.find("ASRL/dev/pts/"), std::string::npos) << out;
  EXPECT_NE(out.find("| 2 | 0,\"No error\""), std::string::npos) << out;
  EXPECT_NE(out.find("-113"), std::string::npos) << out;
}

}  // namespace
}  // namespace aeqlab::e2e
