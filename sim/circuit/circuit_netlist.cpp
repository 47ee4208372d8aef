#include "sim/circuit/circuit_netlist.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <istream>
#include <ostream>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "core/error.hpp"

namespace aeqlab::sim {

namespace {

std::string lower(std::string_view s) {
  std::string r(s);
  for (char& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

std::string in_quotes(std::string_view s) {
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

// A SPICE number as the decimal text the C library reads (the suffix folded into the exponent,
// so "4.7k" is read as "4.7e3", rounded once, exactly as "4700" is) and a factor for the one
// suffix that is not a power of ten (mil).
bool split_spice_number(std::string_view text, std::string& decimal, long double& factor) {
  std::size_t i = 0;
  const auto digit = [&](std::size_t k) {
    return k < text.size() && std::isdigit(static_cast<unsigned char>(text[k]));
  };
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) ++i;
  std::size_t digits = 0;
  while (digit(i)) ++i, ++digits;
  if (i < text.size() && text[i] == '.') {
    ++i;
    while (digit(i)) ++i, ++digits;
  }
  if (digits == 0) return false;
  std::string mantissa(text.substr(0, i));
  long exponent = 0;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    std::size_t k = i + 1;
    bool negative = false;
    if (k < text.size() && (text[k] == '+' || text[k] == '-')) negative = text[k++] == '-';
    if (digit(k)) {
      while (digit(k)) {
        // Clamped: beyond this every double is 0 or infinite anyway.
        exponent = std::min(exponent * 10 + (text[k] - '0'), 100000L);
        ++k;
      }
      if (negative) exponent = -exponent;
      i = k;
    }
  }
  const std::string rest = lower(text.substr(i));
  // SPICE ignores letters after the number and its suffix ("1kohm", "10uF", "2V"); anything
  // else there ("1.5.3", "2k5") is a typo, not a number.
  if (!std::all_of(rest.begin(), rest.end(),
                   [](char c) { return std::isalpha(static_cast<unsigned char>(c)); }))
    return false;
  factor = 1.0L;
  if (rest.rfind("meg", 0) == 0) {
    exponent += 6;
  } else if (rest.rfind("mil", 0) == 0) {
    factor = 25.4e-6L;
  } else if (!rest.empty()) {
    switch (rest[0]) {
      case 'f':
        exponent -= 15;
        break;
      case 'p':
        exponent -= 12;
        break;
      case 'n':
        exponent -= 9;
        break;
      case 'u':
        exponent -= 6;
        break;
      case 'm':
        exponent -= 3;
        break;  // milli, as in SPICE: mega is "meg"
      case 'k':
        exponent += 3;
        break;
      case 'g':
        exponent += 9;
        break;
      case 't':
        exponent += 12;
        break;
      default:
        break;
    }
  }
  decimal = mantissa + "e" + std::to_string(exponent);
  return true;
}

bool parse_spice_long(std::string_view text, long double& value) {
  std::string decimal;
  long double factor = 1.0L;
  if (!split_spice_number(text, decimal, factor)) return false;
  value = std::strtold(decimal.c_str(), nullptr) * factor;
  return true;
}

// A resistor is stored as its conductance but written as ohms. 1/(1/g) in double is not g for
// about one conductance in seven, so the reciprocal is taken in long double: the ohms written
// with 17 digits then always come back to the same conductance (the writer checks).
bool conductance_of(std::string_view ohms, double& conductance) {
  long double r = 0.0L;
  if (!parse_spice_long(ohms, r)) return false;
  conductance = static_cast<double>(1.0L / r);
  return r > 0.0L && std::isfinite(r) && std::isfinite(conductance) && conductance > 0.0;
}

struct Token {
  std::string text;
  std::size_t line = 0;
};

struct Card {
  std::vector<Token> tokens;
  std::string text;  // the first line's text, for .title
};

// Whitespace and commas separate; parentheses and '=' are tokens of their own, so
// "D(IS=1e-14)" and "D ( IS = 1e-14 )" read alike.
void tokenize(std::string_view text, std::size_t line, std::vector<Token>& out) {
  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (std::isspace(static_cast<unsigned char>(c)) || c == ',') {
      ++i;
    } else if (c == '(' || c == ')' || c == '=') {
      out.push_back({std::string(1, c), line});
      ++i;
    } else {
      std::size_t j = i;
      while (j < text.size() && !std::isspace(static_cast<unsigned char>(text[j])) &&
             text[j] != ',' && text[j] != '(' && text[j] != ')' && text[j] != '=')
        ++j;
      out.push_back({std::string(text.substr(i, j - i)), line});
      i = j;
    }
  }
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string first_word(std::string_view line) {
  const auto t = trim(line);
  std::size_t j = 0;
  while (j < t.size() && !std::isspace(static_cast<unsigned char>(t[j]))) ++j;
  return lower(t.substr(0, j));
}

// Analyses and output requests: what an ngspice deck asks for, not what the circuit is.
const std::unordered_set<std::string> kSkippedCards = {
    ".op",    ".dc",      ".ac",    ".tran",    ".tf",     ".noise", ".sens", ".pz",
    ".disto", ".four",    ".print", ".plot",    ".probe",  ".save",  ".meas", ".measure",
    ".width", ".nodeset", ".ic",    ".options", ".option", ".opt"};

// Options that change the answer: ignoring them would silently solve another circuit, so they
// are refused.
const std::unordered_set<std::string> kRefusedOptions = {"temp", "tnom", "gmin"};

struct PendingDiode {
  std::size_t element = 0;
  Token model;
};

class NetlistReader {
 public:
  explicit NetlistReader(const std::string& source) : source_(source) {}

  Circuit read(std::istream& in) {
    std::vector<Card> cards;
    std::string line;
    std::size_t number = 0;
    bool in_control = false;
    while (std::getline(in, line)) {
      ++number;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (number == 1) {
        // SPICE's rule: the first line is the title, whatever it holds.
        circuit_.title = std::string(trim(line));
        continue;
      }
      const std::string word = first_word(line);
      if (in_control) {
        // ngspice's scripting language is not netlist: skipped whole, up to .endc.
        if (word == ".endc") in_control = false;
        continue;
      }
      if (word == ".control") {
        in_control = true;
        continue;
      }
      if (word == ".end") break;
      std::string_view text = line;
      if (const auto semicolon = text.find(';'); semicolon != std::string_view::npos)
        text = text.substr(0, semicolon);
      text = trim(text);
      if (text.empty() || text.front() == '*') continue;
      if (text.front() == '+') {
        if (cards.empty()) fail(number, "a '+' continuation line with no card before it");
        tokenize(text.substr(1), number, cards.back().tokens);
        continue;
      }
      Card card;
      card.text = std::string(text);
      tokenize(text, number, card.tokens);
      cards.push_back(std::move(card));
    }
    if (in_control) fail(number, "'.control' block without '.endc'");
    if (in.bad()) throw DataError(source_ + ": cannot read the netlist");
    // An empty file (or /dev/null) is a mistake, never a circuit with nothing to solve.
    if (number == 0) throw DataError(source_ + ": empty netlist (no title line, no elements)");

    for (const auto& card : cards) read_card(card);
    resolve_models();
    return std::move(circuit_);
  }

 private:
  [[noreturn]] void fail(std::size_t line, const std::string& what) const {
    throw DataError(source_ + ":" + std::to_string(line) + ": " + what);
  }

  void read_card(const Card& card) {
    const auto& t = card.tokens;
    if (t.empty()) return;  // a line of commas
    const std::string head = lower(t.front().text);
    if (head.front() == '.') return read_dot_card(card, head);
    const std::string& name = t.front().text;
    if (!element_names_.insert(lower(name)).second)
      fail(t.front().line, "element " + in_quotes(name) + " is defined twice");
    switch (head.front()) {
      case 'r':
        return read_resistor(t);
      case 'd':
        return read_diode(t);
      case 'v':
        return read_source(t, ElementKind::voltage_source);
      case 'i':
        return read_source(t, ElementKind::current_source);
      default:
        fail(t.front().line, "element " + in_quotes(name) +
                                 " is not supported (aeqlab reads R, D, V and I elements)");
    }
  }

  void read_dot_card(const Card& card, const std::string& head) {
    const auto& t = card.tokens;
    if (head == ".model") return read_model(t);
    if (head == ".title") {
      circuit_.title = std::string(trim(std::string_view(card.text).substr(6)));
      return;
    }
    if (head == ".options" || head == ".option" || head == ".opt") {
      for (const auto& token : t)
        if (kRefusedOptions.count(lower(token.text)))
          fail(token.line, "option " + in_quotes(token.text) +
                               " is not supported (aeqlab solves at 27 degC with GMIN = 1e-12 S, "
                               "ngspice's defaults)");
    }
    if (kSkippedCards.count(head)) return;
    if (head == ".temp")
      fail(t.front().line,
           "'.temp' is not supported (aeqlab solves at 27 degC, ngspice's default)");
    fail(t.front().line, "card " + in_quotes(t.front().text) +
                             " is not supported (aeqlab reads R, D, V, I, .model D, .title, "
                             ".end, and skips analysis and .control cards)");
  }

  std::size_t node(const Token& token, const std::string& element) {
    const std::string key = lower(token.text);
    if (token.text == "(" || token.text == ")" || token.text == "=")
      fail(token.line, "element " + in_quotes(element) + ": " + in_quotes(token.text) +
                           " where a node name belongs");
    if (key == "0" || key == "gnd") return 0;
    const auto [it, added] = node_index_.try_emplace(key, circuit_.nodes.size());
    if (added) circuit_.nodes.push_back(token.text);
    return it->second;
  }

  void expect_count(const std::vector<Token>& t, std::size_t minimum, std::size_t maximum,
                    const std::string& form) const {
    if (t.size() < minimum)
      fail(t.back().line, "element " + in_quotes(t.front().text) + " is incomplete: " + form);
    if (t.size() > maximum)
      fail(t[maximum].line, "element " + in_quotes(t.front().text) + ": unexpected " +
                                in_quotes(t[maximum].text) + " (aeqlab reads " + form + ")");
  }

  void read_resistor(const std::vector<Token>& t) {
    const std::string form = "Rname node node ohms";
    expect_count(t, 4, 4, form);
    const std::size_t a = node(t[1], t[0].text), b = node(t[2], t[0].text);
    double conductance = 0.0;
    if (!conductance_of(t[3].text, conductance))
      fail(t[3].line, "resistor " + in_quotes(t[0].text) + ": resistance " + in_quotes(t[3].text) +
                          " is not a positive, finite number of ohms");
    circuit_.add(ElementKind::resistor, t[0].text, a, b, conductance);
  }

  void read_diode(const std::vector<Token>& t) {
    const std::string form = "Dname anode cathode model";
    expect_count(t, 4, 5, form);
    const std::size_t a = node(t[1], t[0].text), b = node(t[2], t[0].text);
    if (t.size() == 5) {
      double area = 0.0;
      // The solver has no junction area; scaling IS does the same, and says so in the model.
      if (!parse_spice_number(t[4].text, area) || area != 1.0)
        fail(t[4].line, "diode " + in_quotes(t[0].text) + ": area " + in_quotes(t[4].text) +
                            " is not supported (only 1; scale the model's IS instead)");
    }
    pending_.push_back({circuit_.elements.size(), t[3]});
    // The model may come later in the deck: a placeholder index, resolved at the end.
    circuit_.elements.push_back(Element{ElementKind::diode, t[0].text, a, b, 0.0, 0});
  }

  void read_source(const std::vector<Token>& t, ElementKind kind) {
    const std::string form =
        std::string(kind == ElementKind::voltage_source ? "V" : "I") + "name node node [DC] value";
    // No upper bound here: the value is read token by token, so "PULSE(0 1)" is named as the
    // culprit rather than its parenthesis.
    expect_count(t, 3, t.size(), form);
    const std::size_t a = node(t[1], t[0].text), b = node(t[2], t[0].text);
    std::size_t at = 3;
    if (at < t.size() && lower(t[at].text) == "dc") ++at;
    double value = 0.0;  // SPICE's default for a source given no value
    if (at < t.size()) {
      if (!parse_spice_number(t[at].text, value) || !std::isfinite(value))
        fail(t[at].line, "source " + in_quotes(t[0].text) + ": " + in_quotes(t[at].text) +
                             " is not a DC value (aeqlab solves DC only: " + form + ")");
      ++at;
    }
    if (at < t.size())
      fail(t[at].line, "source " + in_quotes(t[0].text) + ": unexpected " + in_quotes(t[at].text) +
                           " (aeqlab solves DC only: " + form + ")");
    circuit_.add(kind, t[0].text, a, b, value);
  }

  void read_model(const std::vector<Token>& t) {
    if (t.size() < 3) fail(t.back().line, "'.model' needs a name and a type: .model NAME D(...)");
    const Token& name = t[1];
    if (lower(t[2].text) != "d")
      fail(t[2].line, "model " + in_quotes(name.text) + ": type " + in_quotes(t[2].text) +
                          " is not supported (aeqlab knows diode models, type D)");
    if (!model_names_.insert(lower(name.text)).second)
      fail(name.line, "model " + in_quotes(name.text) + " is defined twice");
    DiodeModel model;
    model.name = name.text;
    std::size_t i = 3;
    const bool parenthesised = i < t.size() && t[i].text == "(";
    if (parenthesised) ++i;
    std::size_t end = t.size();
    if (parenthesised) {
      if (t.back().text != ")")
        fail(t.back().line, "model " + in_quotes(name.text) + ": missing ')'");
      --end;
    }
    const Token* shockley_parameter = nullptr;
    const Token* ideal = nullptr;
    while (i < end) {
      const Token& key = t[i];
      if (i + 2 >= end || t[i + 1].text != "=")
        fail(key.line, "model " + in_quotes(name.text) + ": expected PARAMETER=VALUE at " +
                           in_quotes(key.text));
      const Token& value_token = t[i + 2];
      const std::string k = lower(key.text);
      double value = 0.0;
      if (!parse_spice_number(value_token.text, value) || !std::isfinite(value))
        fail(value_token.line, "model " + in_quotes(name.text) + ": " +
                                   in_quotes(value_token.text) + " is not a number (for " +
                                   key.text + ")");
      if (k == "is" || k == "n") {
        if (value <= 0.0)
          fail(value_token.line, "model " + in_quotes(name.text) + ": " + key.text +
                                     " must be positive, not " + in_quotes(value_token.text));
        (k == "is" ? model.saturation_current : model.emission) = value;
        shockley_parameter = &key;
      } else if (k == "ideal") {
        if (value != 0.0 && value != 1.0)
          fail(value_token.line, "model " + in_quotes(name.text) + ": IDEAL is 0 or 1, not " +
                                     in_quotes(value_token.text));
        model.ideal = value == 1.0;
        ideal = &value_token;
      } else {
        fail(key.line, "model " + in_quotes(name.text) + ": parameter " + in_quotes(key.text) +
                           " is not supported (aeqlab's diode has IS, N and IDEAL; the solver "
                           "would ignore " +
                           key.text + ")");
      }
      i += 3;
    }
    if (model.ideal && shockley_parameter)
      fail(shockley_parameter->line, "model " + in_quotes(name.text) + ": " +
                                         shockley_parameter->text +
                                         " means nothing for an ideal diode (IDEAL=1, line " +
                                         std::to_string(ideal->line) + ")");
    circuit_.models.push_back(std::move(model));
  }

  void resolve_models() {
    for (const auto& p : pending_) {
      const auto model = circuit_.find_model(p.model.text);
      if (!model)
        fail(p.model.line, "diode " + in_quotes(circuit_.elements[p.element].name) + ": model " +
                               in_quotes(p.model.text) + " is not defined (add .model " +
                               p.model.text + " D(IS=... N=...))");
      circuit_.elements[p.element].model = *model;
    }
  }

  std::string source_;
  Circuit circuit_;
  std::unordered_map<std::string, std::size_t> node_index_;
  std::unordered_set<std::string> element_names_, model_names_;
  std::vector<PendingDiode> pending_;
};

// Names SPICE reads back as one token: no separators, nothing its parser treats specially.
void check_name(const std::string& name, const std::string& what) {
  const bool bad = name.empty() || name.front() == '+' || name.front() == '*' ||
                   name.front() == '.' || std::any_of(name.begin(), name.end(), [](char c) {
                     return std::isspace(static_cast<unsigned char>(c)) || c == ',' || c == '(' ||
                            c == ')' || c == '=' || c == ';';
                   });
  if (bad) throw DataError(what + " " + in_quotes(name) + " cannot be written as a SPICE name");
}

std::string format_double(double v) {
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%.17g", v);
  return buffer;
}

// The fewest digits (up to 17, which always suffice) whose reciprocal reads back bit for bit,
// so a resistor read as "4.7k" is written as "4700".
std::string format_ohms(const std::string& name, double conductance) {
  const long double ohms = 1.0L / static_cast<long double>(conductance);
  char buffer[48];
  for (int digits : {15, 16, 17, 21}) {
    std::snprintf(buffer, sizeof buffer, "%.*Lg", digits, ohms);
    double back = 0.0;
    if (conductance_of(buffer, back) && back == conductance) return buffer;
  }
  throw DataError("resistor " + in_quotes(name) + ": conductance " + format_double(conductance) +
                  " S does not survive writing as ohms");
}

}  // namespace

bool parse_spice_number(std::string_view text, double& value) {
  std::string decimal;
  long double factor = 1.0L;
  if (!split_spice_number(text, decimal, factor)) return false;
  // strtod rounds the decimal once; only "mil" multiplies afterwards.
  value = std::strtod(decimal.c_str(), nullptr);
  if (factor != 1.0L) value = static_cast<double>(value * factor);
  return true;
}

Circuit read_netlist(std::istream& in, const std::string& source) {
  return NetlistReader(source).read(in);
}

Circuit load_netlist(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) throw DataError("cannot open netlist '" + file.string() + "'");
  return read_netlist(in, file.string());
}

void write_netlist(const Circuit& circuit, std::ostream& out) {
  std::string title = circuit.title;
  std::replace(title.begin(), title.end(), '\n', ' ');
  std::replace(title.begin(), title.end(), '\r', ' ');
  std::ostringstream s;
  s << title << "\n";
  // aeqlab's extension: aeqlab reads it back; SPICE ignores the parameter without failing, so
  // the file says what the reader of a SPICE run would otherwise not see (docs/circuit.md).
  if (std::any_of(circuit.models.begin(), circuit.models.end(),
                  [](const DiodeModel& m) { return m.ideal; }))
    s << "* IDEAL=1 is aeqlab's ideal diode: no drop forward, no current backward.\n"
         "* SPICE does not know IDEAL and ignores it: ngspice simulates these models as its\n"
         "* default Shockley diode (IS=1e-14 N=1) instead; see docs/circuit.md.\n";
  for (const auto& m : circuit.models) {
    check_name(m.name, "model");
    if (m.ideal) {
      s << ".model " << m.name << " D(IDEAL=1)\n";
    } else {
      s << ".model " << m.name << " D(IS=" << format_double(m.saturation_current)
        << " N=" << format_double(m.emission) << ")\n";
    }
  }
  for (std::size_t i = 1; i < circuit.nodes.size(); ++i) check_name(circuit.nodes[i], "node");
  std::unordered_set<std::string> names;
  for (const auto& e : circuit.elements) {
    check_name(e.name, "element");
    if (std::tolower(static_cast<unsigned char>(e.name.front())) != names_of(e.kind).letter)
      throw DataError("element " + in_quotes(e.name) + ": SPICE knows it by its first letter, " +
                      "which must be " +
                      std::string(1, static_cast<char>(std::toupper(names_of(e.kind).letter))));
    if (!names.insert(lower(e.name)).second)
      throw DataError("element " + in_quotes(e.name) + " appears twice in the circuit");
    if (e.a >= circuit.nodes.size() || e.b >= circuit.nodes.size())
      throw DataError("element " + in_quotes(e.name) + ": node index out of range");
    s << e.name << ' ' << circuit.nodes[e.a] << ' ' << circuit.nodes[e.b] << ' ';
    switch (e.kind) {
      case ElementKind::resistor:
        if (!(e.value > 0.0) || !std::isfinite(e.value))
          throw DataError("resistor " + in_quotes(e.name) + ": conductance " +
                          format_double(e.value) + " S is not positive and finite");
        s << format_ohms(e.name, e.value);
        break;
      case ElementKind::diode:
        if (e.model >= circuit.models.size())
          throw DataError("diode " + in_quotes(e.name) + ": model index out of range");
        s << circuit.models[e.model].name;
        break;
      case ElementKind::voltage_source:
      case ElementKind::current_source:
        if (!std::isfinite(e.value))
          throw DataError("source " + in_quotes(e.name) + ": value is not finite");
        s << "DC " << format_double(e.value);
        break;
    }
    s << '\n';
  }
  s << ".end\n";
  out << s.str();
}

void save_netlist(const Circuit& circuit, const std::filesystem::path& file) {
  std::ostringstream s;
  write_netlist(circuit, s);
  std::ofstream out(file, std::ios::binary);
  out << s.str();
  out.flush();
  if (!out) throw DataError("cannot write netlist '" + file.string() + "'");
}

}  // namespace aeqlab::sim
