#pragma once
// `aeqlab probe`: what is on this machine's serial ports, and who answers at given addresses.

#include <string>
#include <vector>

namespace aeqlab::cli {

struct ProbeOptions {
  std::vector<std::string> addresses;  // tcp://... or serial://...
  std::string bench;                   // probe every instrument of this bench file
  double timeout_s = 2.0;
  bool json = false;  // one JSON object per line
};

int probe_command(const ProbeOptions& options);

}  // namespace aeqlab::cli
