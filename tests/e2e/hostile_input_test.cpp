// The program against careless and hostile input (issue 15's findings 5-13, run as a user would):
// each refusal is a clear error naming the key, file or peer, never a crash, a bare
// std::bad_alloc, a write outside session.root, a peer's raw bytes on the terminal, or code run
// from a session folder.

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "program_fixture.hpp"

using namespace aeqlab::e2e;
using ::testing::HasSubstr;
using ::testing::Not;
namespace fs = std::filesystem;

namespace {

class HostileInput : public ProgramTest {};

// A peer on a loopback port that answers the first line it reads with `reply` and then reads
// on without answering, until the test ends.
class RudePeer {
 public:
  explicit RudePeer(std::string reply) : reply_(std::move(reply)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    ::listen(fd_, 4);
    socklen_t len = sizeof sa;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len);
    port_ = ntohs(sa.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~RudePeer() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  std::string address() const { return "tcp://127.0.0.1:" + std::to_string(port_); }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      bool answered = false;
      std::string seen;
      while (!stop_) {
        pollfd q{c, POLLIN, 0};
        if (::poll(&q, 1, 50) <= 0) continue;
        char buf[4096];
        const ssize_t n = ::read(c, buf, sizeof buf);
        if (n <= 0) break;
        seen.append(buf, static_cast<std::size_t>(n));
        if (!answered && seen.find('\n') != std::string::npos) {
          answered = true;
          for (std::size_t at = 0; at < reply_.size();) {
            const ssize_t w = ::send(c, reply_.data() + at, reply_.size() - at, MSG_NOSIGNAL);
            if (w <= 0) break;
            at += static_cast<std::size_t>(w);
          }
        }
      }
      ::close(c);
    }
  }

  std::string reply_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace

// Finding 5: counts beyond what the machine holds are refused by key, never a crash or a bare
// std::bad_alloc.
TEST_F(HostileInput, HugeCountsAreRefusedByKey) {
  for (const auto& [setting, key] : std::vector<std::pair<std::string, std::string>>{
           {"trainer.batch_size=9223372036854775808", "trainer.batch_size"},
           {"trainer.batch_size=2147483648", "trainer.batch_size"},
           {"trainer.epochs=18446744073709551615", "trainer.epochs"},
           {"device.layers=[2,2147483648,1]", "device.layers"}}) {
    const auto r = run({"train", "--set", "data.set=xor", "--set", setting});
    EXPECT_EQ(r.status, 2) << setting << "\n" << r.all();
    EXPECT_THAT(r.err, HasSubstr(key)) << setting;
    EXPECT_THAT(r.err, Not(HasSubstr("bad_alloc"))) << setting;
  }
}

// Finding 6: a config nested 70,000 levels deep is refused with the file named.
TEST_F(HostileInput, DeeplyNestedFilesAreRefusedWithTheFileNamed) {
  const auto deep = write("deep.json", std::string(70000, '[') + std::string(70000, ']'));
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"train", "--config", deep.string()},
                                             {"probe", "--bench", deep.string()},
                                             {"train", "--bench", deep.string()}}) {
    const auto r = run(args);
    EXPECT_EQ(r.status, 2) << args[0] << " " << args[1] << "\n" << r.all();
    EXPECT_THAT(r.err, HasSubstr("deep.json"));
    EXPECT_THAT(r.err, HasSubstr("nested deeper than"));
  }
}

// Finding 7: a compliance of 1e308 is refused by key instead of failing the run on a NaN.
TEST_F(HostileInput, PhysicalSettingsOutsideTheirRangeAreRefused) {
  const auto r = run({"train", "--set", "data.set=xor", "--set", "device.layers=[2,4,2]", "--set",
                      "device.compliance.weights=[1e308,0.05]", "--set", "trainer.epochs=1"});
  EXPECT_EQ(r.status, 2) << r.all();
  EXPECT_THAT(r.err, HasSubstr("device.compliance.weights"));
}

// Finding 8: a key of nothing but dots is named as not a key.
TEST_F(HostileInput, SetWithAnEmptyKeyPartSaysSo) {
  for (const std::string bad : {".=1", "trainer..epochs=1", "trainer.=1"}) {
    const auto r = run({"train", "--set", bad});
    EXPECT_EQ(r.status, 2) << bad << "\n" << r.all();
    EXPECT_THAT(r.err, HasSubstr("is not a key")) << bad;
  }
}

// Finding 10: a peer's *IDN? reply reaches the terminal escaped, and a peer that answers *IDN?
// but not SYST:ERR? keeps the identity it gave, reported as a partial answer.
TEST_F(HostileInput, ProbeEscapesThePeerAndKeepsAPartialIdentity) {
  RudePeer peer("EVIL\x1b[2J\x07,MODEL,1,0\n");
  const auto r = run({"probe", "--timeout", "0.3", peer.address()});
  EXPECT_EQ(r.status, 1) << r.all();
  EXPECT_THAT(r.out, HasSubstr("EVIL\\x1b[2J\\x07,MODEL,1,0"));
  EXPECT_THAT(r.out, HasSubstr("PARTIAL ANSWER"));
  EXPECT_THAT(r.out, Not(HasSubstr("\x1b"))) << "a raw ESC reached the terminal";
  EXPECT_THAT(r.out, Not(HasSubstr("\x07")));
  const auto j = run({"probe", "--json", "--timeout", "0.3", peer.address()});
  EXPECT_THAT(j.out, HasSubstr("\"partial\":true"));
  EXPECT_THAT(j.out, HasSubstr("\"idn\":\"EVIL"));
}

// Finding 10: a peer streaming megabytes without a newline is cut off, not printed or buffered.
TEST_F(HostileInput, ProbeCapsAStreamingPeer) {
  RudePeer peer(std::string(8 << 20, 'x'));
  const auto r = run({"probe", "--timeout", "2", peer.address()});
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_THAT(r.out, HasSubstr("longer than"));
  EXPECT_LT(r.out.size(), 4096u);
}

// Finding 11: an empty netlist is an error, and control bytes in names are escaped.
TEST_F(HostileInput, EmptyNetlistsAndControlBytesInNamesAreRefusedClearly) {
  for (const std::string& file : {std::string("/dev/null"), write("empty.cir", "").string()}) {
    const auto r = run({"circuit", "op", file});
    EXPECT_NE(r.status, 0) << file << "\n" << r.all();
    EXPECT_THAT(r.err, HasSubstr("empty netlist")) << file;
  }
  const auto twice = write("twice.cir", "t\nR\x1b[31m1 a 0 1k\nR\x1b[31m1 a 0 2k\n");
  const auto r = run({"circuit", "op", twice.string()});
  EXPECT_NE(r.status, 0);
  EXPECT_THAT(r.err, HasSubstr("R\\x1b[31m1"));
  EXPECT_THAT(r.err, Not(HasSubstr("\x1b")));
}

// Finding 12: session.name is one folder name inside session.root.
TEST_F(HostileInput, SessionNamesCannotLeaveTheRoot) {
  auto args = tiny_xor_train(1);
  for (const std::string name : {"x/../../escaped", "..", "../escaped", "a/b"}) {
    auto a = args;
    a.insert(a.end(), {"--set", "session.root=" + (tmp_ / "root" / "deeper").string(), "--set",
                       "session.name=" + name});
    const auto r = run(a);
    EXPECT_EQ(r.status, 2) << name << "\n" << r.all();
    EXPECT_THAT(r.err, HasSubstr("session.name")) << name;
  }
  EXPECT_FALSE(fs::exists(tmp_ / "escaped"));
  EXPECT_FALSE(fs::exists(tmp_ / "root" / "escaped"));
}

// Finding 13: a numpy.py in the folder `aeqlab report` runs from (a session folder received from
// someone) is never imported.
TEST_F(HostileInput, ReportImportsNothingFromTheSessionFolder) {
  write("summary.json", "{}");
  const auto marker = tmp_ / "ran";
  write("numpy.py", "open(" + quote(marker.string()) + ", 'w').write('ran')\nraise ImportError\n");
  write("matplotlib.py", "open(" + quote(marker.string()) + ", 'w').write('ran')\n");
  const auto r = run({"report", "."});
  EXPECT_FALSE(fs::exists(marker)) << "a file from the session folder ran\n" << r.all();
  EXPECT_EQ(r.status, 0) << r.all();
}
