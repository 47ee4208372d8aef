#pragma once
// A SPICE deck as cards: the lines of a netlist file and of the files it pulls in with
// `.include FILE` and `.lib FILE SECTION`, comments removed, `+` continuations joined, `.control`
// blocks skipped, each card split into tokens that remember their file and line. The first
// stage of the netlist reader (circuit_netlist.hpp); subcircuits and parameters are the next
// (netlist_flatten.hpp). docs/circuit.md, "The netlist subset".

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <string>
#include <vector>

namespace aeqlab::sim {

// Bounds a hostile or mistaken netlist cannot push the reader past: each is refused by name.
struct NetlistLimits {
  int include_depth = 16;                    // .include / .lib nesting
  std::size_t files = 1000;                  // files opened, in all
  std::size_t bytes = std::size_t{1} << 30;  // text read, in all
  int subcircuit_depth = 100;                // instances within instances
  std::size_t cards = 5'000'000;             // elements, instances and models after flattening
};

struct NetlistPlace {
  std::uint32_t file = 0;  // index into NetlistDeck::files
  std::uint32_t line = 0;
};

struct NetlistToken {
  std::string text;
  NetlistPlace at;
  // Set by the flattener for `{expression}` and `'expression'` tokens: the element reader then
  // takes `value` rather than reading `text` as a number.
  bool evaluated = false;
  double value = 0.0;
};

struct NetlistCard {
  std::vector<NetlistToken> tokens;
  std::string text;  // the first line's text, for .title
  NetlistPlace at;
};

struct NetlistFile {
  std::string name;            // as opened: the including file's folder joined with the path
  NetlistPlace included_from;  // meaningful when `included`
  bool included = false;
};

struct NetlistDeck {
  std::string title;
  std::vector<NetlistFile> files;
  std::vector<NetlistCard> cards;

  // "file:line", then "(included from top.cir:3)" for each file that pulled it in.
  std::string where(NetlistPlace at) const;
  // DataError "where: what".
  [[noreturn]] void fail(NetlistPlace at, const std::string& what) const;
};

// `source` names the stream in messages; relative `.include` paths in it are taken from its
// folder (each included file's from its own folder, as ngspice does).
NetlistDeck read_netlist_deck(std::istream& in, const std::string& source,
                              const NetlistLimits& limits = {});

// A name or a value quoted for a message, control bytes escaped.
std::string netlist_quote(std::string_view s);
std::string netlist_lower(std::string_view s);

}  // namespace aeqlab::sim
