#include "core/session_settings.hpp"

#include <array>
#include <utility>

#include <spdlog/fmt/fmt.h>

#include "core/config.hpp"
#include "core/error.hpp"

namespace aeqlab {

namespace {

constexpr std::array<const char*, 4> kDetailNames = {"off", "epoch", "step", "phase"};

}  // namespace

const char* to_string(Detail detail) {
  return kDetailNames.at(std::size_t(detail));
}

SessionSettings session_settings_from(const nlohmann::json& session) {
  ConfigReader r(session, "session");
  SessionSettings s;
  const auto detail = r.one_of("detail", {kDetailNames.begin(), kDetailNames.end()});
  for (std::size_t i = 0; i < kDetailNames.size(); ++i)
    if (detail == kDetailNames[i]) s.detail = Detail(i);
  ConfigReader c(session.at("checkpoint"), "session.checkpoint");
  s.checkpoint_every_steps = c.get<std::size_t>("every_steps");
  s.checkpoint_every_seconds = c.in_range("every_seconds", 0.0, 1e9);
  s.checkpoint_every_epochs = c.get<std::size_t>("every_epochs");
  s.checkpoint_keep = c.get<std::size_t>("keep");
  if (session.at("checkpoint").contains("max_share"))
    s.checkpoint_max_share = c.in_range("max_share", 0.0, 1.0);
  if (s.checkpoint_keep == 0) throw ConfigError("session.checkpoint.keep: must be >= 1");
  for (auto [key, field] : {std::pair{"operator", &s.operator_name}, std::pair{"sample", &s.sample},
                            std::pair{"notes", &s.notes}})
    if (session.contains(key)) {
      if (!session.at(key).is_string())
        throw ConfigError(
            fmt::format("session.{}: expected a string, got {}", key, session.at(key).dump()));
      *field = session.at(key).get<std::string>();
    }
  // Sessions recorded before these keys existed take the defaults (the embedded default config).
  if (session.contains("restore")) {
    ConfigReader rs(session.at("restore"), "session.restore");
    s.restore_tolerance = rs.in_range("tolerance", 0.0, 1e9);
    s.restore_max_rounds = rs.get<std::size_t>("max_rounds");
    if (s.restore_max_rounds == 0) throw ConfigError("session.restore.max_rounds: must be >= 1");
  }
  return s;
}

}  // namespace aeqlab
