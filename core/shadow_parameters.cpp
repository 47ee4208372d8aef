#include "core/shadow_parameters.hpp"

#include <algorithm>
#include <cmath>

#include <spdlog/fmt/fmt.h>

#include "core/error.hpp"

namespace aeqlab {

void require_settable_device(const char* algorithm, const DeviceDescription& d, bool needs_probes) {
  const auto& c = d.capabilities;
  std::vector<std::string> missing;
  if (!c.settable_parameters) missing.push_back("no settable parameters");
  if (needs_probes && !c.local_probes)
    missing.push_back(d.probes.missing.empty() ? "no local probes"
                                               : "no local probes (" + d.probes.missing + ")");
  if (!c.parameter_readback) missing.push_back("no parameter readback");
  if (missing.empty()) return;
  std::string lacks;
  for (std::size_t i = 0; i < missing.size(); ++i)
    lacks += (i == 0 ? "" : i + 1 == missing.size() ? " and " : ", ") + missing[i];
  throw ConfigError(fmt::format(
      "trainer.algorithm \"{}\" needs a device with settable parameters{}; {} has {}", algorithm,
      needs_probes ? ", local probes and parameter readback" : " and parameter readback", d.model,
      lacks));
}

void ShadowParameters::require_rates(const std::vector<double>& rates, const DeviceDescription& d) {
  if (rates.size() != 1 && rates.size() != d.parameters.size()) {
    std::string names;
    for (const auto& g : d.parameters) names += (names.empty() ? "" : ", ") + g.channels.name;
    throw ConfigError(fmt::format(
        "trainer.learning_rates: needs one rate per parameter group of {} ({}: {}) or one number "
        "for all, got {}",
        d.model, d.parameters.size(), names, rates.size()));
  }
  for (const double r : rates)
    if (!(r >= 0) || !std::isfinite(r))
      throw ConfigError(fmt::format("trainer.learning_rates: must be finite and >= 0, got {}", r));
}

ShadowParameters::ShadowParameters(const DeviceDescription& d, const std::vector<double>& rates,
                                   double decay)
    : decay_(decay) {
  require_rates(rates, d);
  for (std::size_t g = 0; g < d.parameters.size(); ++g) {
    const auto& ch = d.parameters[g].channels;
    low_.insert(low_.end(), ch.count, ch.safe.low);
    high_.insert(high_.end(), ch.count, ch.safe.high);
    group_.insert(group_.end(), ch.count, g);
    base_rates_.push_back(rates.size() == 1 ? rates[0] : rates[g]);
  }
  rates_ = base_rates_;
  theta_.assign(low_.size(), 0.0);
}

void ShadowParameters::read_from(Device& device) {
  device.read_parameters(theta_);
}

void ShadowParameters::write_to(Device& device) const {
  device.write_parameters(theta_);
}

void ShadowParameters::assign(std::vector<double> theta) {
  if (theta.size() != theta_.size())
    throw DataError(fmt::format("{} parameter values to resume from, the device has {}",
                                theta.size(), theta_.size()));
  theta_ = std::move(theta);
}

void ShadowParameters::descend(std::span<const double> direction, double scale) {
  for (std::size_t k = 0; k < theta_.size(); ++k)
    theta_[k] = std::clamp(theta_[k] - scale * rates_[group_[k]] * direction[k], low_[k], high_[k]);
}

void ShadowParameters::offset(std::span<const double> offset, std::vector<double>& out) const {
  out.resize(theta_.size());
  for (std::size_t k = 0; k < theta_.size(); ++k)
    out[k] = std::clamp(theta_[k] + offset[k], low_[k], high_[k]);
}

void ShadowParameters::end_epoch() {
  for (auto& r : rates_) r *= decay_;
}

void ShadowParameters::resume_epochs(std::size_t epochs) {
  rates_ = base_rates_;
  for (std::size_t e = 0; e < epochs; ++e) end_epoch();
}

}  // namespace aeqlab
