#pragma once
// Seeded diode-resistor networks for the circuit tests: the layered "deep resistive network" of
// Scellier (2024) and random graphs. The same seed gives the same circuit, so a failure can be
// reproduced from the test's name alone.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "sim/circuit/circuit.hpp"

namespace aeqlab::test_support {

// Log-uniform in [lo, hi]: conductances and saturation currents span decades.
inline double log_uniform(std::mt19937_64& rng, double lo, double hi) {
  return std::exp(std::uniform_real_distribution<double>(std::log(lo), std::log(hi))(rng));
}

inline double uniform(std::mt19937_64& rng, double lo, double hi) {
  return std::uniform_real_distribution<double>(lo, hi)(rng);
}

// prefix + number (+ suffix), built with += : g++ 12 warns (-Wrestrict) falsely on
// "x" + std::to_string(i).
inline std::string name_of(std::string_view prefix, std::size_t number,
                           std::string_view suffix = "") {
  std::string s(prefix);
  s += std::to_string(number);
  s += suffix;
  return s;
}

inline std::size_t pick(std::mt19937_64& rng, std::size_t n) {
  return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
}

// A few Shockley models with IS in 1e-15..1e-9 A and N in 1..2 (ngspice's ranges of interest),
// or one ideal model.
inline void add_diode_models(sim::Circuit& c, std::mt19937_64& rng, bool ideal) {
  if (ideal) {
    c.models.push_back({"dideal", true, 0.0, 1.0});
    return;
  }
  for (int m = 0; m < 4; ++m)
    c.models.push_back(
        {name_of("dm", m), false, log_uniform(rng, 1e-15, 1e-9), uniform(rng, 1.0, 2.0)});
}

struct LayeredNetwork {
  sim::Circuit circuit;
  std::vector<std::size_t> input_sources;  // element indices: +x_i, -x_i, +x_(i+1), ...
  std::vector<std::size_t> outputs;        // node indices
};

// `layers`: inputs, hidden layers..., outputs. Each input x_i is presented twice, as voltage
// sources +x_i and -x_i to ground (so a positive conductance can act as a negative weight).
// Every hidden node has two diodes to its layer's bias sources: one from the node to a source
// above, which caps it, one from a source below to the node, which floors it. Resistors join
// every node of a layer to every node of the next; outputs load to ground through a resistor.
// Inputs are drawn in [-amplitude, amplitude]: Shockley diodes need about 0.5 V forward before
// they conduct, and a hidden node averages many inputs, so with 1 V inputs every Shockley diode
// stays off and the network is linear; 10 V (an input gain, as a bench would have) puts many at
// their knee. Ideal diodes switch at 0 V, so 1 V is enough for them.
inline LayeredNetwork layered_network(const std::vector<std::size_t>& layers, bool ideal,
                                      std::uint64_t seed, double amplitude = 1.0) {
  std::mt19937_64 rng(seed);
  LayeredNetwork net;
  sim::Circuit& c = net.circuit;
  c.title = name_of("layered diode-resistor network seed ", seed);
  add_diode_models(c, rng, ideal);
  auto model = [&] { return ideal ? std::size_t{0} : pick(rng, c.models.size()); };

  std::vector<std::size_t> previous;
  for (std::size_t i = 0; i < layers.front(); ++i) {
    const double x = uniform(rng, -amplitude, amplitude);
    for (const char* sign : {"p", "n"}) {
      const std::string name = name_of("x", i, sign);
      const std::size_t node = c.node(name);
      net.input_sources.push_back(
          c.add(sim::ElementKind::voltage_source, "V" + name, node, 0, sign[0] == 'p' ? x : -x));
      previous.push_back(node);
    }
  }
  for (std::size_t l = 1; l < layers.size(); ++l) {
    const bool output = l + 1 == layers.size();
    std::vector<std::size_t> current;
    std::size_t high = 0, low = 0;
    if (!output) {
      const std::string tag = std::to_string(l);
      high = c.node("bh" + tag);
      low = c.node("bl" + tag);
      c.add(sim::ElementKind::voltage_source, "Vbh" + tag, high, 0, uniform(rng, 0.1, 0.4));
      c.add(sim::ElementKind::voltage_source, "Vbl" + tag, low, 0, uniform(rng, -0.4, -0.1));
    }
    for (std::size_t j = 0; j < layers[l]; ++j) {
      const std::string name = output ? name_of("o", j) : name_of(name_of("h", l, "_"), j);
      const std::size_t node = c.node(name);
      current.push_back(node);
      for (std::size_t k = 0; k < previous.size(); ++k)
        c.add(sim::ElementKind::resistor, name_of("R" + name + "_", k), previous[k], node,
              log_uniform(rng, 1e-5, 1e-3));
      if (output) {
        c.add(sim::ElementKind::resistor, "Rload" + name, node, 0, log_uniform(rng, 1e-4, 1e-3));
        net.outputs.push_back(node);
      } else {
        c.add(sim::ElementKind::diode, "Dh" + name, node, high, 0.0, model());
        c.add(sim::ElementKind::diode, "Dl" + name, low, node, 0.0, model());
      }
    }
    previous = std::move(current);
  }
  return net;
}

// `free_nodes` nodes joined at random: a random spanning tree of resistors down to ground and
// the source nodes (so every node has a resistive path to a fixed voltage), as many resistors
// again between random pairs, Shockley diodes between random free nodes and from free nodes to
// sources, either way round, and a few current sources.
inline sim::Circuit random_network(std::size_t free_nodes, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  sim::Circuit c;
  c.title = name_of(name_of("random diode-resistor network ", free_nodes, " nodes seed "), seed);
  add_diode_models(c, rng, false);
  std::vector<std::size_t> fixed{0}, free;
  const std::size_t sources = std::max<std::size_t>(1, free_nodes / 8);
  for (std::size_t s = 0; s < sources; ++s) {
    const std::size_t node = c.node(name_of("s", s));
    c.add(sim::ElementKind::voltage_source, name_of("Vs", s), node, 0, uniform(rng, -1.0, 1.0));
    fixed.push_back(node);
  }
  std::size_t resistors = 0;
  auto resistor = [&](std::size_t a, std::size_t b) {
    c.add(sim::ElementKind::resistor, name_of("R", resistors++), a, b,
          log_uniform(rng, 1e-4, 1e-2));
  };
  for (std::size_t i = 0; i < free_nodes; ++i) {
    const std::size_t node = c.node(name_of("n", i));
    const std::size_t anchors = fixed.size() + free.size();
    const std::size_t k = pick(rng, anchors);
    resistor(node, k < fixed.size() ? fixed[k] : free[k - fixed.size()]);
    free.push_back(node);
  }
  std::vector<std::size_t> all = fixed;
  all.insert(all.end(), free.begin(), free.end());
  for (std::size_t r = 0; r < free_nodes; ++r) {
    const std::size_t a = free[pick(rng, free.size())], b = all[pick(rng, all.size())];
    if (a != b) resistor(a, b);
  }
  std::size_t diodes = 0;
  auto diode = [&](std::size_t a, std::size_t b) {
    if (a == b) return;
    if (pick(rng, 2)) std::swap(a, b);
    c.add(sim::ElementKind::diode, name_of("D", diodes++), a, b, 0.0, pick(rng, c.models.size()));
  };
  // One draw per statement: the order of evaluation of a call's arguments is unspecified, and
  // the circuits must not depend on the compiler.
  for (std::size_t d = 0; d < std::max<std::size_t>(1, free_nodes / 2); ++d) {
    const std::size_t a = free[pick(rng, free.size())];
    const std::size_t b = free[pick(rng, free.size())];
    diode(a, b);
  }
  for (std::size_t d = 0; d < std::max<std::size_t>(1, free_nodes / 4); ++d) {
    const std::size_t a = free[pick(rng, free.size())];
    const std::size_t b = fixed[pick(rng, fixed.size())];
    diode(a, b);
  }
  for (std::size_t s = 0; s < std::max<std::size_t>(1, free_nodes / 20); ++s) {
    const std::size_t a = free[pick(rng, free.size())];
    const std::size_t b = pick(rng, 2) ? 0 : free[pick(rng, free.size())];
    if (a == b) continue;
    const double magnitude = log_uniform(rng, 1e-6, 1e-4);
    const double amps = pick(rng, 2) ? magnitude : -magnitude;
    c.add(sim::ElementKind::current_source, name_of("I", s), a, b, amps);
  }
  return c;
}

// The topologies of docs/circuit.md's sparse solve, each seeded: inputs as voltage sources,
// resistors drawn log-uniform in 1e-4..1e-2 S, Shockley diodes (or ideal ones where `ideal`) to
// bias sources so that some conduct. Inputs in [-amplitude, amplitude].
struct TopologyNetwork {
  sim::Circuit circuit;
  std::vector<std::size_t> input_sources;  // element indices
  std::vector<std::size_t> outputs;        // node indices
};

namespace topology_detail {

// A node known to be new: Circuit::node's search is linear, which would make building a
// 10^4-node mesh quadratic.
inline std::size_t new_node(sim::Circuit& c, std::string name) {
  c.nodes.push_back(std::move(name));
  return c.nodes.size() - 1;
}

inline void add_bias(sim::Circuit& c, std::mt19937_64& rng, std::size_t& high, std::size_t& low) {
  high = c.node("bh");
  low = c.node("bl");
  c.add(sim::ElementKind::voltage_source, "Vbh", high, 0, uniform(rng, 0.1, 0.4));
  c.add(sim::ElementKind::voltage_source, "Vbl", low, 0, uniform(rng, -0.4, -0.1));
}

// A clamp at `node`: a diode up to the high bias or down from the low one, by turns.
inline void add_clamp(sim::Circuit& c, std::mt19937_64& rng, bool ideal, std::size_t node,
                      std::size_t high, std::size_t low, std::size_t& count) {
  const std::size_t model = ideal ? 0 : pick(rng, c.models.size());
  const std::string name = name_of("D", count);
  if (count++ % 2 == 0)
    c.add(sim::ElementKind::diode, name, node, high, 0.0, model);
  else
    c.add(sim::ElementKind::diode, name, low, node, 0.0, model);
}

}  // namespace topology_detail

// A resistor ladder: `nodes` nodes in a chain of series resistors, each with a shunt resistor to
// ground, and every third one clamped by a diode; an input source at each end.
inline TopologyNetwork ladder_network(std::size_t nodes, bool ideal, std::uint64_t seed,
                                      double amplitude = 5.0) {
  std::mt19937_64 rng(seed);
  TopologyNetwork net;
  sim::Circuit& c = net.circuit;
  c.title = name_of(name_of("resistor ladder ", nodes, " nodes seed "), seed);
  add_diode_models(c, rng, ideal);
  std::size_t high = 0, low = 0, diodes = 0, resistors = 0;
  topology_detail::add_bias(c, rng, high, low);
  // Series conductances 1e-3..1e-2 S, shunts 1e-5..1e-4 S: the inputs reach well into the
  // ladder, so clamps along it conduct.
  auto resistor = [&](std::size_t a, std::size_t b, double lo, double hi) {
    c.add(sim::ElementKind::resistor, name_of("R", resistors++), a, b, log_uniform(rng, lo, hi));
  };
  const std::size_t left = topology_detail::new_node(c, "inl"),
                    right = topology_detail::new_node(c, "inr");
  net.input_sources.push_back(c.add(sim::ElementKind::voltage_source, "Vinl", left, 0,
                                    uniform(rng, -amplitude, amplitude)));
  net.input_sources.push_back(c.add(sim::ElementKind::voltage_source, "Vinr", right, 0,
                                    uniform(rng, -amplitude, amplitude)));
  std::size_t previous = left, middle = 0;
  for (std::size_t i = 0; i < nodes; ++i) {
    const std::size_t node = topology_detail::new_node(c, name_of("n", i));
    if (i == nodes / 2) middle = node;
    resistor(previous, node, 1e-3, 1e-2);
    resistor(node, 0, 1e-5, 1e-4);
    if (i % 3 == 1) topology_detail::add_clamp(c, rng, ideal, node, high, low, diodes);
    previous = node;
  }
  resistor(previous, right, 1e-3, 1e-2);
  net.outputs = {middle, previous};
  return net;
}

// A width x height resistor mesh: neighbours joined by resistors, the left column driven by
// input sources through resistors, the right column loaded to ground, every fifth node clamped.
inline TopologyNetwork mesh_network(std::size_t width, std::size_t height, bool ideal,
                                    std::uint64_t seed, double amplitude = 5.0) {
  std::mt19937_64 rng(seed);
  TopologyNetwork net;
  sim::Circuit& c = net.circuit;
  c.title = name_of(name_of(name_of("resistor mesh ", width, "x"), height, " seed "), seed);
  add_diode_models(c, rng, ideal);
  std::size_t high = 0, low = 0, diodes = 0, resistors = 0;
  topology_detail::add_bias(c, rng, high, low);
  auto resistor = [&](std::size_t a, std::size_t b) {
    c.add(sim::ElementKind::resistor, name_of("R", resistors++), a, b,
          log_uniform(rng, 1e-4, 1e-2));
  };
  std::vector<std::size_t> grid(width * height);
  for (std::size_t y = 0; y < height; ++y)
    for (std::size_t x = 0; x < width; ++x)
      grid[y * width + x] = topology_detail::new_node(c, name_of(name_of("m", x, "_"), y));
  for (std::size_t y = 0; y < height; ++y) {
    const std::size_t in = topology_detail::new_node(c, name_of("in", y));
    net.input_sources.push_back(c.add(sim::ElementKind::voltage_source, name_of("Vin", y), in, 0,
                                      uniform(rng, -amplitude, amplitude)));
    resistor(in, grid[y * width]);
    resistor(grid[y * width + width - 1], 0);
    net.outputs.push_back(grid[y * width + width - 1]);
  }
  for (std::size_t y = 0; y < height; ++y)
    for (std::size_t x = 0; x < width; ++x) {
      const std::size_t node = grid[y * width + x];
      if (x + 1 < width) resistor(node, grid[y * width + x + 1]);
      if (y + 1 < height) resistor(node, grid[(y + 1) * width + x]);
      if ((x + 2 * y) % 5 == 2) topology_detail::add_clamp(c, rng, ideal, node, high, low, diodes);
    }
  return net;
}

// A rows x columns crossbar, a programmable resistor array: each row line and column line is a
// chain of line resistances (one node per crossing), and at every crossing a cell, a resistor
// from the row line in series with a diode to the column line. Rows are driven by input sources,
// columns end in sense resistors to ground (the outputs).
inline TopologyNetwork crossbar_network(std::size_t rows, std::size_t columns, std::uint64_t seed,
                                        double amplitude = 5.0) {
  std::mt19937_64 rng(seed);
  TopologyNetwork net;
  sim::Circuit& c = net.circuit;
  c.title = name_of(name_of(name_of("crossbar ", rows, "x"), columns, " seed "), seed);
  add_diode_models(c, rng, false);
  std::size_t resistors = 0;
  auto resistor = [&](std::size_t a, std::size_t b, double lo, double hi) {
    c.add(sim::ElementKind::resistor, name_of("R", resistors++), a, b, log_uniform(rng, lo, hi));
  };
  std::vector<std::size_t> row_line(rows * columns), column_line(rows * columns);
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t k = 0; k < columns; ++k) {
      row_line[r * columns + k] = topology_detail::new_node(c, name_of(name_of("r", r, "_"), k));
      column_line[r * columns + k] = topology_detail::new_node(c, name_of(name_of("c", k, "_"), r));
    }
  for (std::size_t r = 0; r < rows; ++r) {
    const std::size_t in = topology_detail::new_node(c, name_of("in", r));
    net.input_sources.push_back(c.add(sim::ElementKind::voltage_source, name_of("Vin", r), in, 0,
                                      uniform(rng, -amplitude, amplitude)));
    resistor(in, row_line[r * columns], 0.5, 1.0);  // line resistance 1..2 ohm
    for (std::size_t k = 0; k + 1 < columns; ++k)
      resistor(row_line[r * columns + k], row_line[r * columns + k + 1], 0.5, 1.0);
  }
  for (std::size_t k = 0; k < columns; ++k) {
    for (std::size_t r = 0; r + 1 < rows; ++r)
      resistor(column_line[r * columns + k], column_line[(r + 1) * columns + k], 0.5, 1.0);
    const std::size_t last = column_line[(rows - 1) * columns + k];
    resistor(last, 0, 1e-3, 1e-2);  // the sense resistor
    net.outputs.push_back(last);
  }
  std::size_t diodes = 0;
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t k = 0; k < columns; ++k) {
      const std::size_t cell = topology_detail::new_node(c, name_of(name_of("x", r, "_"), k));
      resistor(row_line[r * columns + k], cell, 1e-5, 1e-3);
      c.add(sim::ElementKind::diode, name_of("D", diodes++), cell, column_line[r * columns + k],
            0.0, pick(rng, c.models.size()));
    }
  return net;
}

// Nodes a voltage source ties to ground, directly or through other sources: the rest are free.
inline std::vector<bool> fixed_nodes(const sim::Circuit& c) {
  std::vector<bool> fixed(c.nodes.size(), false);
  fixed[0] = true;
  for (bool changed = true; changed;) {
    changed = false;
    for (const auto& e : c.elements)
      if (e.kind == sim::ElementKind::voltage_source && fixed[e.a] != fixed[e.b]) {
        fixed[e.a] = fixed[e.b] = true;
        changed = true;
      }
  }
  return fixed;
}

}  // namespace aeqlab::test_support
