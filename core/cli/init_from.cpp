#include "core/cli/init_from.hpp"

#include <fstream>
#include <vector>

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include "core/config.hpp"
#include "core/error.hpp"
#include "core/session_files.hpp"
#include "core/sha256.hpp"

namespace aeqlab::cli {

namespace fs = std::filesystem;

void init_from_session(Device& device, const fs::path& source, const RestoreSettings& settings) {
  const DeviceDescription& d = device.describe();
  const fs::path record = source / "device.json";
  if (!fs::exists(record))
    throw ConfigError(fmt::format("session.init_from {}: not a session folder (no device.json)",
                                  source.string()));
  // Bounded and depth checked; every key read is checked for its type, naming the file and key.
  const nlohmann::json there = read_session_json(record);
  const auto groups_at = there.is_object() ? there.find("parameters") : there.end();
  if (groups_at == there.end() || !groups_at->is_array())
    throw DataError(
        fmt::format("session.init_from {}: parameters: missing or not a list", record.string()));
  const auto& groups = *groups_at;
  const std::string model_there = there.contains("model") && there["model"].is_string()
                                      ? there["model"].get<std::string>()
                                      : "?";
  // Same shape, group by group, by name: a network of other layers is refused before anything
  // is touched.
  for (std::size_t g = 0; g < std::max(groups.size(), d.parameters.size()); ++g) {
    std::string name_there = "(none)";
    std::size_t count_there = 0;
    if (g < groups.size()) {
      const auto& group = groups[g];
      const auto name = group.is_object() ? group.find("name") : group.end();
      if (name == group.end() || !name->is_string())
        throw DataError(
            fmt::format("session.init_from {}: parameters[{}].name: missing or not "
                        "text",
                        record.string(), g));
      name_there = name->get<std::string>();
      count_there = static_cast<std::size_t>(session_count(
          group, "count", kMaxCount, record.string() + fmt::format(": parameters[{}]", g)));
    }
    const std::string name_here =
        g < d.parameters.size() ? d.parameters[g].channels.name : "(none)";
    const std::size_t count_here = g < d.parameters.size() ? d.parameters[g].channels.count : 0;
    if (name_there != name_here || count_there != count_here)
      throw ConfigError(fmt::format(
          "session.init_from {}: its device ({}) has parameter group {} of {} values where this "
          "one ({}) has {} of {}; a warm start needs the same device shape",
          source.string(), model_there, name_there, count_there, d.model, name_here, count_here));
  }
  const fs::path file = source / "parameters.f64";
  std::ifstream in(file, std::ios::binary);
  if (!in)
    throw DataError(
        fmt::format("{}: cannot open the parameter file (a session killed before its "
                    "end has none until it is resumed)",
                    file.string()));
  std::vector<double> theta(d.parameter_count());
  in.read(reinterpret_cast<char*>(theta.data()), std::streamsize(theta.size() * sizeof(double)));
  if (in.gcount() != std::streamsize(theta.size() * sizeof(double)) || in.peek() != EOF)
    throw DataError(
        fmt::format("{}: expected {} float64 values for {}", file.string(), theta.size(), d.model));
  const RestoreReport r = restore_parameters(device, theta, settings);
  if (!r.written && !r.verified)
    throw ConfigError(
        fmt::format("session.init_from: {} can neither have its parameters written "
                    "nor read them back",
                    d.model));
  if (r.verified && !r.within)
    throw DeviceError(fmt::format(
        "session.init_from {}: cannot bring {} to its parameters: {} (tolerance {:.3g}, "
        "session.restore.tolerance)",
        source.string(), d.model, describe(r), settings.tolerance));
  spdlog::info("starting from {}'s parameters (sha256 {}): {}", source.string(),
               parameters_sha256(theta).substr(0, 16), describe(r));
}

}  // namespace aeqlab::cli
