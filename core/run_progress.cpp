#include "core/run_progress.hpp"

#include <algorithm>
#include <sstream>

#include <spdlog/fmt/fmt.h>

#include "core/error.hpp"

namespace aeqlab {

using json = nlohmann::json;

namespace {

// Whether a field was in the first checkpoints: one added later reads as zero or empty when a
// checkpoint written before it lacks it.
enum class Since { first, later };

// The tally's fields, in one list for both directions.
template <class T, class Field>
void tally_fields(T& t, Field&& field) {
  field("samples", t.samples, Since::first);
  field("errors", t.errors, Since::first);
  field("settles", t.settles, Since::first);
  field("unconverged", t.unconverged, Since::first);
  field("iterations", t.iterations, Since::first);
  field("homeostat_rounds", t.homeostat_rounds, Since::first);
  field("device_settles", t.device_settles, Since::later);
  field("cost", t.cost, Since::first);
  field("seconds", t.seconds, Since::first);
  field("settle_seconds", t.settle_seconds, Since::first);
  field("holds", t.holds, Since::later);
  field("hold_error_max", t.hold_error_max, Since::later);
  field("loop_gain_max", t.loop_gain_max, Since::later);
}

// The run's fields, in one list for both directions.
template <class P, class Field>
void progress_fields(P& p, Field&& field) {
  field("epochs_done", p.epochs_done, Since::first);
  field("position", p.position, Since::first);
  field("steps", p.steps, Since::first);
  field("trained", p.trained, Since::first);
  field("segments", p.segments, Since::first);
  field("log_seconds", p.log_seconds, Since::later);
  field("checkpoint_seconds", p.checkpoint_seconds, Since::later);
  field("train_seconds", p.train_seconds, Since::first);
  field("train_cpu_seconds", p.train_cpu_seconds, Since::later);
  field("wall_seconds", p.wall_seconds, Since::first);
  field("tally", p.tally, Since::first);
  field("device_settles", p.device_settles, Since::later);
  field("epoch_device_settles", p.epoch_device_settles, Since::later);
  field("have_test", p.have_test, Since::first);
  field("test_errors", p.last_test.errors, Since::first);
  field("test_samples", p.last_test.samples, Since::first);
  field("test_cost", p.last_test.cost, Since::first);
  field("rng", p.rng, Since::first);
  field("compliance", p.compliance, Since::first);
  field("events_lines", p.events_lines, Since::first);
  field("metrics_bytes", p.metrics_bytes, Since::first);
}

void take(const json& j, EpochTally& t);

template <class V>
void put(json& j, const V& v) {
  j = v;
}
void put(json& j, const std::mt19937_64& rng) {
  std::ostringstream text;
  text << rng;
  j = text.str();
}
void put(json& j, const EpochTally& t) {
  j = json::object();
  tally_fields(t, [&](const char* key, const auto& v, Since) { put(j[key], v); });
}

template <class V>
void take(const json& j, V& v) {
  v = j.get<V>();
}
void take(const json& j, std::mt19937_64& rng) {
  std::istringstream text(j.get<std::string>());
  text >> rng;
  if (!text) throw DataError("damaged RNG state");
}
void read_fields(const json& j, auto fields) {
  if (!j.is_object()) throw DataError(fmt::format("expected an object, got {}", j.dump()));
  fields([&](const char* key, auto& v, Since since) {
    const auto it = j.find(key);
    try {
      if (it != j.end())
        take(*it, v);
      else if (since == Since::first)
        throw DataError("missing");
      else
        v = {};
    } catch (const std::exception& e) {
      throw DataError(fmt::format("{}: {}", key, e.what()));
    }
  });
}
void take(const json& j, EpochTally& t) {
  read_fields(j, [&](auto&& field) { tally_fields(t, field); });
}

}  // namespace

void EpochTally::add(const StepReport& step, std::size_t batch) {
  samples += batch;
  errors += step.errors;
  cost += step.cost;
  for (const auto& p : step.phases) {
    ++settles;
    unconverged += !p.converged;
    iterations += p.settle.iterations;
    if (p.held) {
      homeostat_rounds += p.rounds;
      ++holds;
      hold_error_max = std::max(hold_error_max, p.hold_error);
      loop_gain_max = std::max(loop_gain_max, p.loop_gain);
    }
    settle_seconds += p.settle.seconds;
  }
  device_settles += step.settles;
}

json to_json(const RunProgress& p) {
  json j = json::object();
  progress_fields(p, [&](const char* key, const auto& v, Since) { put(j[key], v); });
  return j;
}

RunProgress run_progress_from(const json& j) {
  RunProgress p;
  read_fields(j, [&](auto&& field) { progress_fields(p, field); });
  return p;
}

bool RunProgress::operator==(const RunProgress& other) const {
  return to_json(*this) == to_json(other);
}

}  // namespace aeqlab
