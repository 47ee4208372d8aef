// `device.type: "bench"`: real instruments and a channel map (instruments/), one replica.

#include <filesystem>
#include <optional>

#include "core/cli/device_types.hpp"
#include "core/config.hpp"
#include "core/error.hpp"
#include "instruments/bench_config.hpp"
#include "instruments/bench_device.hpp"
#include "instruments/emulated_plasticity.hpp"

namespace aeqlab::cli {

namespace {

// A bench section holds the bench itself, or the path of a bench file; the session records the
// bench's content (and where it came from), so a resumed or re-evaluated run uses the bench it was
// trained on even when the file has changed since.
struct BenchSection {
  instruments::BenchConfig bench;
  std::optional<nlohmann::json> file;
};

BenchSection parse(const nlohmann::json& device, std::size_t /*batch_size*/) {
  for (const auto& [k, v] : device.items())
    if (k != "type" && k != "bench" && k != "file")
      throw ConfigError("device." + k +
                        ": unknown key for a bench device (known: type, bench, file)");
  if (!device.contains("bench"))
    throw ConfigError("device.bench: missing; give the bench file (aeqlab train --bench FILE)");
  BenchSection s;
  nlohmann::json bench;
  const auto& b = device.at("bench");
  if (b.is_string()) {
    s.file = std::filesystem::absolute(b.get<std::string>()).string();
    bench = read_json_file(b.get<std::string>());
  } else {
    if (device.contains("file")) s.file = device.at("file");
    bench = b;
  }
  s.bench = instruments::parse_bench(bench, s.file ? s.file->get<std::string>() : "device.bench");
  return s;
}

nlohmann::json to_json(const BenchSection& s) {
  nlohmann::json section = {{"type", "bench"}, {"bench", instruments::bench_to_json(s.bench)}};
  if (s.file) section["file"] = *s.file;
  return section;
}

std::unique_ptr<Device> build(BenchSection s) {
  auto plasticity = s.bench.plasticity;
  std::unique_ptr<Device> bench = std::make_unique<instruments::BenchDevice>(std::move(s.bench));
  // A bench of programmable resistors made to relax (docs/pot-bench.md).
  if (plasticity)
    return std::make_unique<instruments::EmulatedPlasticity>(std::move(bench), *plasticity);
  return bench;
}

}  // namespace

DeviceType bench_device_type() {
  DeviceType t = typed_device_type<BenchSection>("bench", parse, to_json, build);
  t.fixed_replicas = 1;
  t.servable = false;
  return t;
}

}  // namespace aeqlab::cli
