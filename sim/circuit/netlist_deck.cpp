#include "sim/circuit/netlist_deck.hpp"

#include <sys/stat.h>

#include <cctype>
#include <fstream>
#include <istream>

#include "core/error.hpp"

namespace aeqlab::sim {

namespace fs = std::filesystem;

std::string netlist_lower(std::string_view s) {
  std::string r(s);
  for (char& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

std::string netlist_quote(std::string_view s) {
  // Built with += : g++ 12 warns (-Wrestrict) falsely on "'" + std::string(s). Control bytes
  // are escaped: a name in a netlist must not drive the terminal the error is printed on.
  std::string r = "'";
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      constexpr char kHex[] = "0123456789abcdef";
      r += "\\x";
      r += kHex[u >> 4];
      r += kHex[u & 15];
    } else {
      r += c;
    }
  }
  r += '\'';
  return r;
}

std::string NetlistDeck::where(NetlistPlace at) const {
  if (at.file >= files.size()) return "?:" + std::to_string(at.line);
  std::string r = files[at.file].name + ":" + std::to_string(at.line);
  // The chain is finite: a file's includer was opened before it.
  for (std::uint32_t f = at.file; files[f].included;) {
    const NetlistPlace from = files[f].included_from;
    r += " (included from " + files[from.file].name + ":" + std::to_string(from.line) + ")";
    f = from.file;
  }
  return r;
}

void NetlistDeck::fail(NetlistPlace at, const std::string& what) const {
  throw DataError(where(at) + ": " + what);
}

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string first_word(std::string_view line) {
  const auto t = trim(line);
  std::size_t j = 0;
  while (j < t.size() && !std::isspace(static_cast<unsigned char>(t[j]))) ++j;
  return netlist_lower(t.substr(0, j));
}

// ngspice's comments: `;` anywhere, `$` and `//` at the start or after a space (so a path like
// a//b or a name like a$b stays whole).
std::string_view strip_comment(std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const bool after_space = i == 0 || std::isspace(static_cast<unsigned char>(text[i - 1]));
    if (text[i] == ';' || (after_space && text[i] == '$') ||
        (after_space && text.substr(i, 2) == "//"))
      return text.substr(0, i);
  }
  return text;
}

// `.include "a b.cir"`, `.include 'x'`, `.include x`: the rest of the line, quotes removed.
std::string path_argument(std::string_view rest) {
  rest = trim(rest);
  if (rest.size() >= 2 && (rest.front() == '"' || rest.front() == '\'') &&
      rest.back() == rest.front())
    rest = rest.substr(1, rest.size() - 2);
  return std::string(rest);
}

class DeckReader {
 public:
  DeckReader(const NetlistLimits& limits, NetlistDeck& deck) : limits_(limits), deck_(deck) {}

  void top(std::istream& in, const std::string& source) {
    deck_.files.push_back({source, {}, false});
    Frame frame{0, fs::path(source).parent_path(), {}, 0};
    std::error_code ec;
    if (fs::is_regular_file(source, ec)) open_.push_back(fs::weakly_canonical(source, ec).string());
    read(in, frame);
    if (in.bad()) throw DataError(source + ": cannot read the netlist");
    // An empty file (or /dev/null) is a mistake, never a circuit with nothing to solve.
    if (frame.lines == 0) throw DataError(source + ": empty netlist (no title line, no elements)");
  }

 private:
  struct Frame {
    std::uint32_t file = 0;
    fs::path folder;
    std::string section;  // reading only this section of a .lib file; empty: the whole file
    std::size_t lines = 0;
    int depth = 0;
    bool section_found = false;
  };

  [[noreturn]] void fail(const Frame& f, std::size_t line, const std::string& what) const {
    deck_.fail({f.file, static_cast<std::uint32_t>(line)}, what);
  }

  void read(std::istream& in, Frame& f) {
    std::string line;
    bool in_control = false;
    bool in_section = f.section.empty();  // inside the wanted .lib section (or a whole file)
    while (std::getline(in, line)) {
      const std::size_t number = ++f.lines;
      bytes_ += line.size() + 1;
      if (bytes_ > limits_.bytes)
        fail(f, number,
             "the netlist and its includes exceed " + std::to_string(limits_.bytes) + " bytes");
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (number == 1 && f.file == 0) {
        // SPICE's rule: the first line is the title, whatever it holds (an included file has
        // none: its first line is a card, as in ngspice).
        deck_.title = std::string(trim(line));
        continue;
      }
      const std::string word = first_word(line);
      if (in_control) {
        // ngspice's scripting language is not netlist: skipped whole, up to .endc.
        if (word == ".endc") in_control = false;
        continue;
      }
      if (!f.section.empty()) {
        // A library file: only the wanted section counts; what lies outside is ignored, as
        // ngspice ignores it.
        if (word == ".lib" && !in_section && lib_arguments(line).size() == 1) {
          in_section = netlist_lower(lib_arguments(line)[0]) == f.section;
          f.section_found |= in_section;
          continue;
        }
        if (word == ".endl") {
          if (in_section) return;
          continue;
        }
        if (!in_section) continue;
      }
      if (word == ".control") {
        in_control = true;
        continue;
      }
      if (word == ".end") {
        // The end of the deck; in an included file ngspice reads on past it (checked on
        // ngspice 39), and so does aeqlab.
        if (f.file == 0) return;
        continue;
      }
      std::string_view text = trim(strip_comment(line));
      if (text.empty() || text.front() == '*') continue;
      const NetlistPlace at{f.file, static_cast<std::uint32_t>(number)};
      if (text.front() == '+') {
        if (deck_.cards.empty()) fail(f, number, "a '+' continuation line with no card before it");
        tokenize(text.substr(1), at, deck_.cards.back().tokens);
        continue;
      }
      if (word == ".include" || word == ".inc") {
        const std::string path = path_argument(trim(text).substr(word.size()));
        if (path.empty()) fail(f, number, "'" + word + "' needs a file name");
        open(f, number, path, "");
        continue;
      }
      if (word == ".lib") {
        const auto args = lib_arguments(text);
        if (args.size() != 2)
          fail(f, number,
               "'.lib' takes a file and a section (.lib FILE SECTION); a section of its own "
               "(.lib NAME ... .endl) belongs in a library file");
        open(f, number, args[0], netlist_lower(args[1]));
        continue;
      }
      if (word == ".endl") fail(f, number, "'.endl' outside a library section");
      NetlistCard card;
      card.text = std::string(text);
      card.at = at;
      // A title is text, not tokens: "it's" there is no unterminated expression.
      tokenize(word == ".title" ? text.substr(0, 6) : text, at, card.tokens);
      deck_.cards.push_back(std::move(card));
    }
    if (in_control) fail(f, f.lines, "'.control' block without '.endc'");
    if (!f.section.empty() && in_section)
      fail(f, f.lines, "library section " + netlist_quote(f.section) + " has no '.endl'");
  }

  // The words after `.lib`, quotes removed from each.
  static std::vector<std::string> lib_arguments(std::string_view line) {
    std::vector<std::string> args;
    line = trim(strip_comment(line));
    std::size_t i = 4;  // past ".lib"
    while (i < line.size()) {
      if (std::isspace(static_cast<unsigned char>(line[i]))) {
        ++i;
        continue;
      }
      if (line[i] == '"' || line[i] == '\'') {
        const auto close = line.find(line[i], i + 1);
        const std::size_t end = close == std::string_view::npos ? line.size() : close;
        args.emplace_back(line.substr(i + 1, end - i - 1));
        i = end + 1;
      } else {
        std::size_t j = i;
        while (j < line.size() && !std::isspace(static_cast<unsigned char>(line[j]))) ++j;
        args.emplace_back(line.substr(i, j - i));
        i = j;
      }
    }
    return args;
  }

  void open(const Frame& from, std::size_t line, const std::string& path,
            const std::string& section) {
    const std::string what =
        section.empty() ? "'.include " + path + "'" : "'.lib " + path + " " + section + "'";
    if (from.depth + 1 > limits_.include_depth)
      fail(from, line,
           what + ": includes nested deeper than " + std::to_string(limits_.include_depth));
    if (deck_.files.size() >= limits_.files)
      fail(from, line, what + ": more than " + std::to_string(limits_.files) + " files included");
    const fs::path file = fs::path(path).is_absolute() ? fs::path(path) : from.folder / path;
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0)
      fail(from, line, what + ": no file " + netlist_quote(file.string()));
    if (!S_ISREG(st.st_mode))
      fail(from, line, what + ": " + netlist_quote(file.string()) + " is not a regular file");
    std::error_code ec;
    const std::string key =
        fs::weakly_canonical(file, ec).string() + (section.empty() ? "" : "\n" + section);
    for (const auto& open : open_)
      if (open == key)
        fail(from, line, what + ": " + netlist_quote(file.string()) + " includes itself");
    std::ifstream in(file, std::ios::binary);
    if (!in) fail(from, line, what + ": cannot open " + netlist_quote(file.string()));
    deck_.files.push_back({file.string(), {from.file, static_cast<std::uint32_t>(line)}, true});
    Frame frame{static_cast<std::uint32_t>(deck_.files.size() - 1),
                file.parent_path(),
                section,
                0,
                from.depth + 1,
                false};
    open_.push_back(key);
    read(in, frame);
    open_.pop_back();
    if (in.bad()) fail(from, line, what + ": cannot read " + netlist_quote(file.string()));
    if (!section.empty() && !frame.section_found)
      fail(from, line,
           what + ": no section " + netlist_quote(section) + " in " + netlist_quote(file.string()));
  }

  // Whitespace and commas separate; parentheses and '=' are tokens of their own, so
  // "D(IS=1e-14)" and "D ( IS = 1e-14 )" read alike. `{...}` and `'...'` are one token each,
  // spaces and all: they are expressions (netlist_expression.hpp).
  void tokenize(std::string_view text, NetlistPlace at, std::vector<NetlistToken>& out) {
    std::size_t i = 0;
    while (i < text.size()) {
      const char c = text[i];
      if (std::isspace(static_cast<unsigned char>(c)) || c == ',') {
        ++i;
      } else if (c == '(' || c == ')' || c == '=') {
        out.push_back({std::string(1, c), at});
        ++i;
      } else if (c == '{' || c == '\'') {
        const char close = c == '{' ? '}' : '\'';
        const auto end = text.find(close, i + 1);
        if (end == std::string_view::npos)
          deck_.fail(at, std::string("expression ") + netlist_quote(text.substr(i)) +
                             " has no closing " + close);
        out.push_back({std::string(text.substr(i, end + 1 - i)), at});
        i = end + 1;
      } else {
        std::size_t j = i;
        while (j < text.size() && !std::isspace(static_cast<unsigned char>(text[j])) &&
               text[j] != ',' && text[j] != '(' && text[j] != ')' && text[j] != '=' &&
               text[j] != '{' && text[j] != '\'')
          ++j;
        out.push_back({std::string(text.substr(i, j - i)), at});
        i = j;
      }
    }
  }

  const NetlistLimits& limits_;
  NetlistDeck& deck_;
  std::vector<std::string> open_;  // files being read, canonical, with their section
  std::size_t bytes_ = 0;
};

}  // namespace

NetlistDeck read_netlist_deck(std::istream& in, const std::string& source,
                              const NetlistLimits& limits) {
  NetlistDeck deck;
  DeckReader(limits, deck).top(in, source);
  return deck;
}

}  // namespace aeqlab::sim
