// Queries per second to one instrument through aeqlab's drivers: the figure beside PyVISA's in
// scripts/bench-hil. Usage: aeqlab_query_rate ADDRESS COMMAND COUNT
// Prints one line: "queries=N seconds=S ms_per_query=M".

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "drivers/address.hpp"
#include "drivers/scpi_session.hpp"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: aeqlab_query_rate ADDRESS COMMAND COUNT\n");
    return 2;
  }
  try {
    const auto address = aeqlab::drivers::parse_address(argv[1]);
    aeqlab::drivers::ScpiOptions o;
    aeqlab::drivers::ScpiSession scpi("bench", aeqlab::drivers::open_transport(address, o.timeout),
                                      o);
    const long n = std::atol(argv[3]);
    for (int i = 0; i < 50; ++i) scpi.query(argv[2]);  // warm-up
    const auto t0 = std::chrono::steady_clock::now();
    for (long i = 0; i < n; ++i) scpi.query(argv[2]);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("queries=%ld seconds=%.6f ms_per_query=%.6f\n", n, s, 1e3 * s / double(n));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "aeqlab_query_rate: %s\n", e.what());
    return 1;
  }
  return 0;
}
