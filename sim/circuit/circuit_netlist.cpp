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
#include "sim/circuit/netlist_deck.hpp"
#include "sim/circuit/netlist_flatten.hpp"

namespace aeqlab::sim {

namespace {

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
  const std::string rest = netlist_lower(text.substr(i));
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

using Tokens = std::vector<NetlistToken>;

// Analyses and output requests: what an ngspice deck asks for, not what the circuit is.
const std::unordered_set<std::string> kSkippedCards = {
    ".op",    ".dc",      ".ac",    ".tran",    ".tf",     ".noise", ".sens", ".pz",
    ".disto", ".four",    ".print", ".plot",    ".probe",  ".save",  ".meas", ".measure",
    ".width", ".nodeset", ".ic",    ".options", ".option", ".opt"};

// Options that change the answer, with the value aeqlab solves at (ngspice's default): any
// other value is refused, since ignoring it would silently solve another circuit.
const std::unordered_map<std::string, double> kFixedOptions = {
    {"temp", 27.0}, {"tnom", 27.0}, {"gmin", 1e-12}};

// Diode model parameters that do not change a DC operating point at 27 degC = TNOM: junction
// and diffusion charge, noise, and the temperature law (checked against ngspice in
// tests/sim/circuit/circuit_netlist_ngspice_test.cpp). Read and checked as numbers, then
// dropped.
const std::unordered_set<std::string> kDcSilentDiodeParameters = {
    "cjo", "cj0", "cj", "vj",  "pb",  "m",    "mj",  "tt",   "fc",
    "kf",  "af",  "eg", "xti", "cjp", "cjsw", "php", "mjsw", "fcs"};

// Transient source functions: a DC operating point reads the DC value beside them.
const std::unordered_set<std::string> kTransientFunctions = {"pulse", "sin",  "exp",
                                                             "pwl",   "sffm", "am"};

struct PendingDiode {
  std::size_t element = 0;
  NetlistToken model;
};

class NetlistReader {
 public:
  NetlistReader(const std::string& source, const NetlistLimits& limits)
      : source_(source), limits_(limits) {}

  Circuit read(std::istream& in, std::vector<std::string>* element_where) {
    deck_ = read_netlist_deck(in, source_, limits_);
    circuit_.title = deck_.title;
    for (const auto& card : flatten_netlist(deck_, limits_)) read_card(card);
    resolve_models();
    if (element_where) {
      element_where->clear();
      for (const auto at : element_at_) element_where->push_back(deck_.where(at));
    }
    return std::move(circuit_);
  }

 private:
  [[noreturn]] void fail(NetlistPlace at, const std::string& what) const { deck_.fail(at, what); }

  // A value token: an evaluated {expression}, or a SPICE number.
  static bool number(const NetlistToken& t, double& value) {
    if (t.evaluated) {
      value = t.value;
    } else if (!parse_spice_number(t.text, value)) {
      return false;
    }
    return std::isfinite(value);
  }

  void add(ElementKind kind, const NetlistToken& name, std::size_t a, std::size_t b, double value) {
    circuit_.add(kind, name.text, a, b, value);
    element_at_.push_back(name.at);
  }

  void read_card(const NetlistCard& card) {
    const auto& t = card.tokens;
    if (t.empty()) return;  // a line of commas
    const std::string head = netlist_lower(t.front().text);
    if (head.front() == '.') return read_dot_card(card, head);
    const std::string& name = t.front().text;
    if (!element_names_.insert(netlist_lower(name)).second)
      fail(t.front().at, "element " + netlist_quote(name) + " is defined twice");
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
        fail(t.front().at, "element " + netlist_quote(name) +
                               " is not supported (aeqlab reads R, D, V, I and X elements)");
    }
  }

  void read_dot_card(const NetlistCard& card, const std::string& head) {
    const auto& t = card.tokens;
    if (head == ".model") return read_model(t);
    if (head == ".title") {
      circuit_.title = std::string(card.text.size() > 6 ? card.text.substr(6) : "");
      while (!circuit_.title.empty() && std::isspace(static_cast<unsigned char>(circuit_.title[0])))
        circuit_.title.erase(0, 1);
      return;
    }
    if (head == ".options" || head == ".option" || head == ".opt") {
      for (std::size_t k = 1; k < t.size(); ++k) {
        const auto fixed = kFixedOptions.find(netlist_lower(t[k].text));
        if (fixed == kFixedOptions.end()) continue;
        double v = 0.0;
        if (!(k + 2 < t.size() && t[k + 1].text == "=" && number(t[k + 2], v) &&
              v == fixed->second))
          fail(t[k].at, "option " + netlist_quote(t[k].text) +
                            " is not supported other than at ngspice's default (aeqlab solves at "
                            "27 degC with GMIN = 1e-12 S)");
      }
    }
    if (kSkippedCards.count(head)) return;
    if (head == ".temp") {
      double v = 0.0;
      if (t.size() == 2 && number(t[1], v) && v == 27.0) return;
      fail(t.front().at,
           "'.temp' is not supported other than 27 (aeqlab solves at 27 degC, ngspice's default)");
    }
    fail(t.front().at, "card " + netlist_quote(t.front().text) +
                           " is not supported (aeqlab reads R, D, V, I, X, .model D, .subckt, "
                           ".param, .include, .lib, .global, .title, .end, and skips analysis "
                           "and .control cards)");
  }

  std::size_t node(const NetlistToken& token, const std::string& element) {
    const std::string key = netlist_lower(token.text);
    if (token.text == "(" || token.text == ")" || token.text == "=" || token.text[0] == '{' ||
        token.text[0] == '\'')
      fail(token.at, "element " + netlist_quote(element) + ": " + netlist_quote(token.text) +
                         " where a node name belongs");
    if (key == "0" || key == "gnd") return 0;
    const auto [it, added] = node_index_.try_emplace(key, circuit_.nodes.size());
    if (added) circuit_.nodes.push_back(token.text);
    return it->second;
  }

  void expect_nodes(const Tokens& t, std::size_t count, const std::string& form) const {
    if (t.size() < count + 1)
      fail(t.back().at, "element " + netlist_quote(t.front().text) + " is incomplete: " + form);
  }

  // NAME=VALUE at t[i]: false if t[i] does not start one.
  static bool assignment(const Tokens& t, std::size_t i) {
    return i + 2 < t.size() && t[i + 1].text == "=";
  }

  void read_resistor(const Tokens& t) {
    const std::string form = "Rname node node ohms [m=M]";
    expect_nodes(t, 2, form);
    const std::size_t a = node(t[1], t[0].text), b = node(t[2], t[0].text);
    const std::string who = "resistor " + netlist_quote(t[0].text);
    const NetlistToken* ohms = nullptr;
    std::size_t i = 3;
    if (i < t.size() && !assignment(t, i)) ohms = &t[i++];
    long double multiplier = 1.0L;
    while (i < t.size()) {
      if (!assignment(t, i))
        fail(t[i].at,
             who + ": unexpected " + netlist_quote(t[i].text) + " (aeqlab reads " + form + ")");
      const std::string key = netlist_lower(t[i].text);
      const NetlistToken& value = t[i + 2];
      double v = 0.0;
      if (key == "r" || key == "resistance") {
        if (ohms) fail(t[i].at, who + ": a second resistance " + netlist_quote(t[i].text));
        ohms = &value;
      } else if (key == "m") {
        if (!number(value, v) || !(v > 0.0))
          fail(value.at, who + ": m " + netlist_quote(value.text) + " is not a positive number");
        multiplier = v;
      } else if (key == "tc1" || key == "tc2" || key == "ac") {
        // TC1, TC2 scale R by (T - TNOM), 0 at 27 degC; AC is the AC analysis's resistance.
        if (!number(value, v))
          fail(value.at,
               who + ": " + t[i].text + " " + netlist_quote(value.text) + " is not a number");
      } else {
        fail(t[i].at, who + ": parameter " + netlist_quote(t[i].text) +
                          " is not supported (aeqlab reads R or RESISTANCE, M, and TC1, TC2 and "
                          "AC, which change nothing in a DC solve at 27 degC)");
      }
      i += 3;
    }
    if (!ohms) fail(t.back().at, who + " has no resistance: " + form);
    long double r = 0.0L;
    bool ok = false;
    if (ohms->evaluated) {
      r = ohms->value;
      ok = true;
    } else {
      ok = parse_spice_long(ohms->text, r);
    }
    // The reciprocal in long double, as conductance_of does (see there).
    const double conductance = static_cast<double>(multiplier / r);
    if (!ok || !(r > 0.0L) || !std::isfinite(r) || !std::isfinite(conductance) ||
        !(conductance > 0.0))
      fail(ohms->at, who + ": resistance " + netlist_quote(ohms->text) +
                         " is not a positive, finite number of ohms");
    add(ElementKind::resistor, t[0], a, b, conductance);
  }

  void read_diode(const Tokens& t) {
    const std::string form = "Dname anode cathode model";
    expect_nodes(t, 3, form);
    if (t.size() > 5)
      fail(t[5].at, "element " + netlist_quote(t[0].text) + ": unexpected " +
                        netlist_quote(t[5].text) + " (aeqlab reads " + form + ")");
    const std::size_t a = node(t[1], t[0].text), b = node(t[2], t[0].text);
    if (t.size() == 5) {
      double area = 0.0;
      // The solver has no junction area; scaling IS does the same, and says so in the model.
      if (!number(t[4], area) || area != 1.0)
        fail(t[4].at, "diode " + netlist_quote(t[0].text) + ": area " + netlist_quote(t[4].text) +
                          " is not supported (only 1; scale the model's IS instead)");
    }
    pending_.push_back({circuit_.elements.size(), t[3]});
    // The model may come later in the deck: a placeholder index, resolved at the end.
    circuit_.elements.push_back(Element{ElementKind::diode, t[0].text, a, b, 0.0, 0});
    element_at_.push_back(t[0].at);
  }

  void read_source(const Tokens& t, ElementKind kind) {
    const std::string form = std::string(kind == ElementKind::voltage_source ? "V" : "I") +
                             "name node node [DC] value [AC mag [phase]] [PULSE(...)]";
    const std::string who = "source " + netlist_quote(t[0].text);
    expect_nodes(t, 2, form);
    const std::size_t a = node(t[1], t[0].text), b = node(t[2], t[0].text);
    bool has_dc = false;
    double value = 0.0;  // SPICE's default for a source given no value
    const NetlistToken* transient = nullptr;
    double transient_start = 0.0;
    double v = 0.0;
    for (std::size_t at = 3; at < t.size();) {
      const std::string word = netlist_lower(t[at].text);
      if (word == "dc" && !has_dc) {
        if (at + 1 >= t.size() || !number(t[at + 1], value))
          fail(t[at].at, who + ": DC needs a value (" + form + ")");
        has_dc = true;
        at += 2;
      } else if (word == "ac") {
        // The AC analysis's magnitude and phase: nothing in a DC solve.
        ++at;
        for (int k = 0; k < 2 && at < t.size() && number(t[at], v); ++k) ++at;
      } else if (kTransientFunctions.count(word) && !transient && at + 1 < t.size() &&
                 t[at + 1].text == "(") {
        transient = &t[at];
        std::size_t close = at + 2;
        while (close < t.size() && t[close].text != ")") ++close;
        if (close >= t.size())
          fail(t[at].at, who + ": " + netlist_quote(t[at].text) + " has no ')'");
        if (word == "pulse" && (close == at + 2 || !number(t[at + 2], transient_start)))
          fail(t[at].at, who + ": PULSE needs its initial value first");
        at = close + 1;
      } else if (!has_dc && number(t[at], value)) {
        has_dc = true;
        ++at;
      } else {
        fail(t[at].at,
             who + ": unexpected " + netlist_quote(t[at].text) + " (aeqlab reads " + form + ")");
      }
    }
    if (transient && !has_dc) {
      // ngspice's operating point takes a transient source's value at time 0, which is PULSE's
      // first argument; for the others it depends on several, so a DC value is asked for.
      if (netlist_lower(transient->text) != "pulse")
        fail(transient->at, who + ": " + netlist_quote(transient->text) +
                                " without a DC value: give one before it (DC 0 " + transient->text +
                                "(...))");
      value = transient_start;
    }
    add(kind, t[0], a, b, value);
  }

  void read_model(const Tokens& t) {
    if (t.size() < 3) fail(t.back().at, "'.model' needs a name and a type: .model NAME D(...)");
    const NetlistToken& name = t[1];
    if (netlist_lower(t[2].text) != "d")
      fail(t[2].at, "model " + netlist_quote(name.text) + ": type " + netlist_quote(t[2].text) +
                        " is not supported (aeqlab knows diode models, type D)");
    if (!model_names_.insert(netlist_lower(name.text)).second)
      fail(name.at, "model " + netlist_quote(name.text) + " is defined twice");
    DiodeModel model;
    model.name = name.text;
    std::size_t i = 3;
    const bool parenthesised = i < t.size() && t[i].text == "(";
    if (parenthesised) ++i;
    std::size_t end = t.size();
    if (parenthesised) {
      if (t.back().text != ")")
        fail(t.back().at, "model " + netlist_quote(name.text) + ": missing ')'");
      --end;
    }
    const NetlistToken* shockley_parameter = nullptr;
    const NetlistToken* ideal = nullptr;
    while (i < end) {
      const NetlistToken& key = t[i];
      if (i + 2 >= end || t[i + 1].text != "=")
        fail(key.at, "model " + netlist_quote(name.text) + ": expected PARAMETER=VALUE at " +
                         netlist_quote(key.text));
      const NetlistToken& value_token = t[i + 2];
      const std::string k = netlist_lower(key.text);
      double value = 0.0;
      if (!number(value_token, value))
        fail(value_token.at, "model " + netlist_quote(name.text) + ": " +
                                 netlist_quote(value_token.text) + " is not a number (for " +
                                 key.text + ")");
      // Parameters whose value here is what the solver does anyway.
      const bool neutral = (k == "level" && value == 1.0) || (k == "rs" && value == 0.0) ||
                           (k == "tnom" && value == 27.0);
      if (k == "is" || k == "n") {
        if (value <= 0.0)
          fail(value_token.at, "model " + netlist_quote(name.text) + ": " + key.text +
                                   " must be positive, not " + netlist_quote(value_token.text));
        (k == "is" ? model.saturation_current : model.emission) = value;
        shockley_parameter = &key;
      } else if (k == "ideal") {
        if (value != 0.0 && value != 1.0)
          fail(value_token.at, "model " + netlist_quote(name.text) + ": IDEAL is 0 or 1, not " +
                                   netlist_quote(value_token.text));
        model.ideal = value == 1.0;
        ideal = &value_token;
      } else if (!neutral && !kDcSilentDiodeParameters.count(k)) {
        fail(key.at, "model " + netlist_quote(name.text) + ": parameter " +
                         netlist_quote(key.text) +
                         (k == "level" || k == "rs" || k == "tnom"
                              ? " is supported only at its default (LEVEL=1, RS=0, TNOM=27)"
                              : " is not supported (aeqlab's diode has IS, N and IDEAL; the "
                                "solver would ignore " +
                                    key.text + ")"));
      }
      i += 3;
    }
    if (model.ideal && shockley_parameter)
      fail(shockley_parameter->at,
           "model " + netlist_quote(name.text) + ": " + shockley_parameter->text +
               " means nothing for an ideal diode (IDEAL=1, " + deck_.where(ideal->at) + ")");
    circuit_.models.push_back(std::move(model));
    model_index_.emplace(netlist_lower(name.text), circuit_.models.size() - 1);
  }

  void resolve_models() {
    for (const auto& p : pending_) {
      const auto model = model_index_.find(netlist_lower(p.model.text));
      if (model == model_index_.end())
        fail(p.model.at, "diode " + netlist_quote(circuit_.elements[p.element].name) + ": model " +
                             netlist_quote(p.model.text) + " is not defined (add .model " +
                             p.model.text + " D(IS=... N=...))");
      circuit_.elements[p.element].model = model->second;
    }
  }

  std::string source_;
  const NetlistLimits& limits_;
  NetlistDeck deck_;
  Circuit circuit_;
  std::unordered_map<std::string, std::size_t> node_index_, model_index_;
  std::unordered_set<std::string> element_names_, model_names_;
  std::vector<PendingDiode> pending_;
  std::vector<NetlistPlace> element_at_;
};

}  // namespace

// A resistor is stored as its conductance but written as ohms. 1/(1/g) in double is not g for
// about one conductance in seven, so the reciprocal is taken in long double: the ohms written
// with 17 digits then always come back to the same conductance (the writer checks).
bool parse_spice_conductance(std::string_view ohms, double& conductance) {
  long double r = 0.0L;
  if (!parse_spice_long(ohms, r)) return false;
  conductance = static_cast<double>(1.0L / r);
  return r > 0.0L && std::isfinite(r) && std::isfinite(conductance) && conductance > 0.0;
}

bool parse_spice_number(std::string_view text, double& value) {
  std::string decimal;
  long double factor = 1.0L;
  if (!split_spice_number(text, decimal, factor)) return false;
  // strtod rounds the decimal once; only "mil" multiplies afterwards.
  value = std::strtod(decimal.c_str(), nullptr);
  if (factor != 1.0L) value = static_cast<double>(value * factor);
  return true;
}

Circuit read_netlist(std::istream& in, const std::string& source, const NetlistLimits& limits,
                     std::vector<std::string>* element_where) {
  return NetlistReader(source, limits).read(in, element_where);
}

Circuit load_netlist(const std::filesystem::path& file, std::vector<std::string>* element_where) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw DataError("cannot open netlist '" + file.string() + "'");
  return read_netlist(in, file.string(), {}, element_where);
}

}  // namespace aeqlab::sim
