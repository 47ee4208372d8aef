#pragma once
// A small lab netlist for the netlist-device tests: a 2x2 mesh of resistors, two of its nodes
// clamped by Shockley diodes, inputs as +/- source pairs, two loaded outputs. Line numbers
// matter: the refusal tests name them.

#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

namespace aeqlab::test_support {

inline const char* const kNetlistDeck =
    "small mesh with clamped nodes\n"  // 1
    "* inputs\n"                       // 2
    "Vx1p x1p 0 DC 0\n"                // 3
    "Vx1n x1n 0 DC 0\n"                // 4
    "Vx2p x2p 0 DC 0\n"                // 5
    "Vx2n x2n 0 DC 0\n"                // 6
    "Vhi hi 0 DC 0.1\n"                // 7
    "Vlo lo 0 DC -0.1\n"               // 8
    "Rin1 x1p m11 20k\n"               // 9
    "Rin2 x1n m21 30k\n"               // 10
    "Rin3 x2p m12 25k\n"               // 11
    "Rin4 x2n m22 15k\n"               // 12
    "Rm1 m11 m12 10k\n"                // 13
    "Rm2 m21 m22 12k\n"                // 14
    "Rm3 m11 m21 8k\n"                 // 15
    "Rm4 m12 m22 9k\n"                 // 16
    "Rout1 m12 o1 10k\n"               // 17
    "Rout2 m22 o2 11k\n"               // 18
    "Rout3 m11 o2 13k\n"               // 19
    "Rout4 m21 o1 14k\n"               // 20
    "Rl1 o1 0 20k\n"                   // 21
    "Rl2 o2 0 20k\n"                   // 22
    "Dh1 m11 hi dsi\n"                 // 23
    "Dl1 lo m11 dsi\n"                 // 24
    "Dh2 m22 hi dsi\n"                 // 25
    "Dl2 lo m22 dsi\n"                 // 26
    ".model dsi D(IS=1e-9 N=1)\n"      // 27
    ".end\n";

// The deck written to `file`, and a device section mapping it.
inline nlohmann::json netlist_device_section(const std::filesystem::path& file,
                                             const std::string& deck = kNetlistDeck) {
  std::ofstream(file) << deck;
  return {{"type", "netlist"},
          {"netlist", file.string()},
          {"inputs", nlohmann::json::array({nlohmann::json::array({"Vx1p", "Vx1n"}),
                                            nlohmann::json::array({"Vx2p", "Vx2n"})})},
          {"input_range", {-2.0, 2.0}},
          {"outputs", nlohmann::json::array({"o1", "o2"})},
          {"trainable", nlohmann::json::array({"Rin*", "Rm*", "Rout*"})}};
}

}  // namespace aeqlab::test_support
