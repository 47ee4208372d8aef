#include "sim/circuit/netlist_flatten.hpp"

#include <cctype>
#include <functional>
#include <unordered_map>
#include <unordered_set>

#include "sim/circuit/netlist_expression.hpp"

namespace aeqlab::sim {

namespace {

constexpr std::size_t kNone = static_cast<std::size_t>(-1);

using Tokens = std::vector<NetlistToken>;

bool punctuation(const std::string& t) {
  return t == "(" || t == ")" || t == "=";
}

bool is_expression(const std::string& t) {
  return !t.empty() && (t.front() == '{' || t.front() == '\'');
}

// `{a*2}` or `'a*2'` without its braces or quotes.
std::string inner(const std::string& t) {
  return is_expression(t) ? t.substr(1, t.size() - 2) : t;
}

bool parameter_name(const std::string& s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  for (const char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  return true;
}

struct ParamText {
  std::string name;   // lower case
  std::string shown;  // as written
  std::string text;   // the expression
  NetlistPlace at;
};

struct Definition {
  std::string name, shown;
  NetlistPlace at;
  std::size_t parent = kNone;       // the enclosing definition (0, the deck itself, for most)
  std::vector<std::string> pins;    // lower case
  std::vector<ParamText> params;    // declared on the .subckt line, with their defaults
  std::vector<ParamText> locals;    // its own .param cards
  std::vector<std::size_t> body;    // element, instance and other cards (deck indices)
  std::vector<std::size_t> models;  // its .model cards
  std::unordered_map<std::string, std::size_t> children;  // nested definitions by name
  std::unordered_set<std::string> model_names;
};

// Parameters visible in one instance. As in ngspice (checked on this machine), scoping is
// dynamic: an instance sees its own parameters, then its caller's, up to the deck's .param.
struct Scope {
  struct Entry {
    ParamText param;
    const Scope* eval_in = nullptr;  // where the expression is evaluated
    int state = 0;                   // 0 not yet, 1 being evaluated, 2 done
    double value = 0.0;
  };
  const Scope* parent = nullptr;
  mutable std::unordered_map<std::string, Entry> entries;
};

class Flattener {
 public:
  Flattener(const NetlistDeck& deck, const NetlistLimits& limits) : deck_(deck), limits_(limits) {}

  std::vector<NetlistCard> run() {
    define();
    Scope global;
    for (const auto& p : defs_[0].locals) global.entries[p.name] = {p, &global, 0, 0.0};
    evaluate_all(global);
    Frame root{0, "", ""};
    chain_.push_back(root);
    expand(0, global, {});
    return std::move(out_);
  }

 private:
  struct Frame {
    std::size_t def = 0;
    std::string path;      // "x1.x2", empty for the deck itself
    std::string instance;  // "x2", lower case
  };

  [[noreturn]] void fail(NetlistPlace at, const std::string& what) const { deck_.fail(at, what); }

  // Definitions, nested as written; definition 0 is the deck itself.
  void define() {
    defs_.emplace_back();
    std::vector<std::size_t> open{0};
    for (std::size_t i = 0; i < deck_.cards.size(); ++i) {
      const auto& t = deck_.cards[i].tokens;
      if (t.empty()) continue;
      const std::string head = netlist_lower(t[0].text);
      Definition& current = defs_[open.back()];
      if (head == ".subckt") {
        open.push_back(define_subcircuit(t, open.back()));
      } else if (head == ".ends") {
        if (open.size() == 1) fail(t[0].at, "'.ends' with no '.subckt' open");
        const Definition& d = defs_[open.back()];
        if (t.size() > 1 && netlist_lower(t[1].text) != d.name)
          fail(t[1].at, "'.ends " + t[1].text + "' closes subcircuit " + netlist_quote(d.shown) +
                            " (" + deck_.where(d.at) + ")");
        open.pop_back();
      } else if (head == ".param") {
        for (auto& p : parameters(t, 1, "'.param'")) current.locals.push_back(std::move(p));
      } else if (head == ".global") {
        if (open.size() > 1)
          fail(t[0].at, "'.global' inside subcircuit " + netlist_quote(current.shown) +
                            " (it belongs at the top of the deck)");
        for (std::size_t k = 1; k < t.size(); ++k) globals_.insert(netlist_lower(t[k].text));
      } else if (head == ".model") {
        current.models.push_back(i);
        if (t.size() > 1) current.model_names.insert(netlist_lower(t[1].text));
      } else {
        current.body.push_back(i);
      }
    }
    if (open.size() > 1) {
      const Definition& d = defs_[open.back()];
      fail(d.at, "subcircuit " + netlist_quote(d.shown) + " has no '.ends'");
    }
  }

  std::size_t define_subcircuit(const Tokens& t, std::size_t parent) {
    if (t.size() < 2 || punctuation(t[1].text))
      fail(t[0].at, "'.subckt' needs a name: .subckt NAME pins... [params: k=v ...]");
    Definition d;
    d.shown = t[1].text;
    d.name = netlist_lower(d.shown);
    d.at = t[1].at;
    d.parent = parent;
    std::size_t k = 2;
    for (; k < t.size() && !starts_parameters(t, k); ++k) {
      if (punctuation(t[k].text) || is_expression(t[k].text))
        fail(t[k].at, "subcircuit " + netlist_quote(d.shown) + ": " + netlist_quote(t[k].text) +
                          " where a pin name belongs");
      const std::string pin = netlist_lower(t[k].text);
      if (pin == "0" || pin == "gnd")
        fail(t[k].at, "subcircuit " + netlist_quote(d.shown) + ": ground " +
                          netlist_quote(t[k].text) + " cannot be a pin");
      for (const auto& other : d.pins)
        if (other == pin)
          fail(t[k].at, "subcircuit " + netlist_quote(d.shown) + ": pin " +
                            netlist_quote(t[k].text) + " is listed twice");
      d.pins.push_back(pin);
    }
    d.params = parameters(t, k, "subcircuit " + netlist_quote(d.shown));
    const auto [it, added] = defs_[parent].children.try_emplace(d.name, defs_.size());
    if (!added)
      fail(t[1].at, "subcircuit " + netlist_quote(d.shown) + " is defined twice (first at " +
                        deck_.where(defs_[it->second].at) + ")");
    defs_.push_back(std::move(d));
    return defs_.size() - 1;
  }

  static bool starts_parameters(const Tokens& t, std::size_t k) {
    return netlist_lower(t[k].text) == "params:" || (k + 1 < t.size() && t[k + 1].text == "=");
  }

  // NAME=VALUE ... from t[from] on (an optional `params:` skipped); a value runs to the next
  // NAME=, so `.param a = 2 * b` reads as ngspice reads it.
  std::vector<ParamText> parameters(const Tokens& t, std::size_t from, const std::string& what) {
    std::vector<ParamText> out;
    std::size_t i = from;
    while (i < t.size()) {
      if (netlist_lower(t[i].text) == "params:") {
        ++i;
        continue;
      }
      if (i + 1 >= t.size() || t[i + 1].text != "=")
        fail(t[i].at, what + ": expected NAME=VALUE at " + netlist_quote(t[i].text));
      if (!parameter_name(t[i].text))
        fail(t[i].at, what + ": " + netlist_quote(t[i].text) + " is not a parameter name");
      ParamText p{netlist_lower(t[i].text), t[i].text, "", t[i].at};
      std::size_t j = i + 2;
      const bool one_token = j + 1 >= t.size() || starts_parameters(t, j + 1);
      if (j < t.size() && one_token && is_expression(t[j].text)) {
        p.text = inner(t[j].text);
        out.push_back(std::move(p));
        i = j + 1;
        continue;
      }
      for (; j < t.size() && !starts_parameters(t, j); ++j) {
        if (!p.text.empty()) p.text += ' ';
        // Built with += : g++ 12 warns (-Wrestrict) falsely on "(" + std::string.
        if (is_expression(t[j].text)) {
          p.text += '(';
          p.text += inner(t[j].text);
          p.text += ')';
        } else {
          p.text += t[j].text;
        }
      }
      if (j == i + 2)
        fail(t[i].at, what + ": parameter " + netlist_quote(p.shown) + " has no value");
      out.push_back(std::move(p));
      i = j;
    }
    return out;
  }

  double evaluate(const Scope& scope, const std::string& text, NetlistPlace at,
                  const std::string& what) {
    try {
      return evaluate_expression(text,
                                 [&](const std::string& name) { return lookup(scope, name); });
    } catch (const ExpressionError& e) {
      fail(at, what + ": " + e.what + " (in " + netlist_quote(text) + ")");
    }
  }

  double lookup(const Scope& scope, const std::string& name) {
    for (const Scope* s = &scope; s; s = s->parent) {
      const auto it = s->entries.find(name);
      if (it == s->entries.end()) continue;
      Scope::Entry& e = it->second;
      if (e.state == 2) return e.value;
      // A parameter whose expression names itself (`.subckt c a b r={r}`) means the caller's
      // value of that name, as in ngspice: look further out.
      if (!evaluating_.empty() && evaluating_.back() == &e) continue;
      if (e.state == 1)
        fail(e.param.at, "parameter " + netlist_quote(e.param.shown) + " depends on itself");
      e.state = 1;
      evaluating_.push_back(&e);
      e.value = evaluate(*e.eval_in, e.param.text, e.param.at,
                         "parameter " + netlist_quote(e.param.shown));
      evaluating_.pop_back();
      e.state = 2;
      return e.value;
    }
    if (!evaluating_.empty() && evaluating_.back()->param.name == name)
      throw ExpressionError{"parameter " + netlist_quote(name) +
                            " refers to itself and no caller defines it"};
    throw ExpressionError{"no parameter " + netlist_quote(name) + " is defined"};
  }

  // Every parameter of a scope, used or not, so a mistake in one is never silently ignored
  // (ngspice evaluates them all too).
  void evaluate_all(const Scope& scope) {
    for (const auto& [name, entry] : scope.entries) lookup(scope, name);
  }

  void count(NetlistPlace at) {
    if (++cards_ > limits_.cards)
      fail(at, "more than " + std::to_string(limits_.cards) +
                   " elements, instances and models after expanding subcircuits");
  }

  // Expression tokens from `from` on get their value in `scope`.
  void evaluate_tokens(Tokens& t, std::size_t from, const Scope& scope, const std::string& what) {
    for (std::size_t k = from; k < t.size(); ++k)
      if (is_expression(t[k].text)) {
        t[k].value = evaluate(scope, inner(t[k].text), t[k].at, what);
        t[k].evaluated = true;
      }
  }

  std::string node_name(const std::string& text,
                        const std::unordered_map<std::string, std::string>& pins) const {
    const Frame& f = chain_.back();
    if (f.def == 0 || punctuation(text)) return text;
    const std::string key = netlist_lower(text);
    if (key == "0" || key == "gnd" || globals_.count(key)) return text;
    if (const auto it = pins.find(key); it != pins.end()) return it->second;
    return f.path + "." + key;
  }

  // ngspice's name for element `head` of the innermost instance: "r.x1.x2.r1" for R1 in X2 in
  // X1. An instance of a definition nested inside its caller's definition was expanded inside
  // that definition first, so its elements' names nest: R1 in Xl (a .subckt defined inside
  // quad) in Xq is "r.xq.r.xl.r1" (nodes stay "xq.xl.n"), as ngspice 39 names them.
  std::string element_name(const std::string& head) const {
    const std::string letter(1, head[0]);
    std::string name = head, components;
    for (std::size_t f = chain_.size() - 1; f > 0; --f) {
      components = components.empty() ? chain_[f].instance : chain_[f].instance + "." + components;
      const std::size_t parent = defs_[chain_[f].def].parent;
      if (parent != 0 && chain_[f - 1].def == parent) {
        name = letter + "." + components + "." + name;
        components.clear();
      }
    }
    return components.empty() ? name : letter + "." + components + "." + name;
  }

  // A diode's model: the nearest enclosing definition that defines it, in that definition's
  // instance on the chain; the deck's own models keep their names.
  std::string model_name(const std::string& text) const {
    const std::string key = netlist_lower(text);
    for (std::size_t d = chain_.back().def; d != kNone; d = defs_[d].parent) {
      if (!defs_[d].model_names.count(key)) continue;
      if (d == 0) return text;
      for (auto f = chain_.rbegin(); f != chain_.rend(); ++f)
        if (f->def == d) return f->path + "." + key;
    }
    return text;  // undefined: the element reader names it
  }

  std::size_t find_definition(const std::string& name) const {
    for (std::size_t d = chain_.back().def; d != kNone; d = defs_[d].parent)
      if (const auto it = defs_[d].children.find(name); it != defs_[d].children.end())
        return it->second;
    return kNone;
  }

  void expand(std::size_t def, const Scope& scope,
              const std::unordered_map<std::string, std::string>& pins) {
    const Definition& d = defs_[def];
    const std::string& path = chain_.back().path;
    for (const std::size_t m : d.models) {
      NetlistCard card = deck_.cards[m];
      count(card.at);
      if (def != 0 && card.tokens.size() > 1)
        card.tokens[1].text = path + "." + netlist_lower(card.tokens[1].text);
      evaluate_tokens(card.tokens, 2, scope,
                      "model " + netlist_quote(card.tokens.size() > 1 ? card.tokens[1].text : ""));
      out_.push_back(std::move(card));
    }
    for (const std::size_t c : d.body) {
      const NetlistCard& source = deck_.cards[c];
      const std::string head = netlist_lower(source.tokens[0].text);
      if (head[0] == 'x') {
        instance(source, scope, pins);
        continue;
      }
      NetlistCard card = source;
      count(card.at);
      auto& t = card.tokens;
      if (head[0] != '.' && def != 0) t[0].text = element_name(head);
      if (head[0] == 'r' || head[0] == 'd' || head[0] == 'v' || head[0] == 'i')
        for (std::size_t k = 1; k <= 2 && k < t.size(); ++k) t[k].text = node_name(t[k].text, pins);
      if (head[0] == 'd' && t.size() > 3) t[3].text = model_name(t[3].text);
      // Dot cards other than .model (analyses, .options, .temp, ...) are left to the element
      // reader: it skips, checks or refuses them as they are.
      // Values only: an expression where a node or a model belongs is the element reader's to
      // refuse.
      const std::size_t first_value = head[0] == 'd'                                         ? 4
                                      : (head[0] == 'r' || head[0] == 'v' || head[0] == 'i') ? 3
                                                                                             : 1;
      if (head[0] != '.')
        evaluate_tokens(t, first_value, scope, "element " + netlist_quote(t[0].text));
      out_.push_back(std::move(card));
    }
  }

  void instance(const NetlistCard& card, const Scope& scope,
                const std::unordered_map<std::string, std::string>& pins) {
    const Tokens& t = card.tokens;
    const std::string& shown = t[0].text;
    count(card.at);
    std::size_t k = 1;
    while (k < t.size() && !starts_parameters(t, k)) ++k;
    if (k < 2)
      fail(t[0].at, "instance " + netlist_quote(shown) +
                        " is incomplete: Xname nodes... subcircuit [k=v ...]");
    const std::string sub = netlist_lower(t[k - 1].text);
    const std::size_t def = find_definition(sub);
    if (def == kNone)
      fail(t[k - 1].at, "instance " + netlist_quote(shown) + ": no subcircuit " +
                            netlist_quote(t[k - 1].text) + " is defined");
    const Definition& d = defs_[def];
    const std::size_t nodes = k - 2;
    if (nodes != d.pins.size())
      fail(t[0].at, "instance " + netlist_quote(shown) + " connects " + std::to_string(nodes) +
                        " node" + (nodes == 1 ? "" : "s") + ", but subcircuit " +
                        netlist_quote(d.shown) + " (" + deck_.where(d.at) + ") has " +
                        std::to_string(d.pins.size()) + " pin" + (d.pins.size() == 1 ? "" : "s"));
    for (const auto& f : chain_)
      if (f.def == def)
        fail(t[0].at, "instance " + netlist_quote(shown) + ": subcircuit " +
                          netlist_quote(d.shown) + " contains itself (recursion)");
    if (static_cast<int>(chain_.size()) > limits_.subcircuit_depth)
      fail(t[0].at, "instance " + netlist_quote(shown) + ": subcircuits nested deeper than " +
                        std::to_string(limits_.subcircuit_depth));
    const std::string& outer = chain_.back().path;
    std::string path = (outer.empty() ? "" : outer + ".") + netlist_lower(shown);
    if (!instances_.insert(path).second)
      fail(t[0].at, "instance " + netlist_quote(shown) + " is defined twice");

    std::unordered_map<std::string, std::string> connected;
    for (std::size_t n = 0; n < nodes; ++n) {
      const NetlistToken& node = t[1 + n];
      if (punctuation(node.text) || is_expression(node.text))
        fail(node.at, "instance " + netlist_quote(shown) + ": " + netlist_quote(node.text) +
                          " where a node name belongs");
      connected[d.pins[n]] = node_name(node.text, pins);
    }

    // The instance's parameters: given ones evaluated where the instance is written, the
    // others from their defaults inside the instance, beside its own .param cards.
    Scope inside;
    inside.parent = &scope;
    for (const auto& p : d.params) inside.entries[p.name] = {p, &inside, 0, 0.0};
    for (const auto& p : d.locals) {
      for (const auto& q : d.params)
        if (q.name == p.name)
          fail(p.at, "parameter " + netlist_quote(p.shown) + " of subcircuit " +
                         netlist_quote(d.shown) + " is also set by '.param' here");
      inside.entries[p.name] = {p, &inside, 0, 0.0};
    }
    const std::string what = "instance " + netlist_quote(shown);
    for (auto& given : parameters(t, k, what)) {
      const auto it = inside.entries.find(given.name);
      bool declared = false;
      for (const auto& q : d.params) declared |= q.name == given.name;
      if (!declared)
        fail(given.at, what + ": subcircuit " + netlist_quote(d.shown) + " has no parameter " +
                           netlist_quote(given.shown) + " (ngspice would ignore it)");
      // ngspice evaluates an instance's parameter in the caller's scope, except that a constant
      // .param inside the subcircuit shadows the caller's name (measured on ngspice 39): a
      // deck that depends on which is refused rather than solved one way.
      for (const auto& name : expression_names(given.text))
        for (const auto& local : d.locals)
          if (local.name == name)
            fail(given.at, what + ": parameter " + netlist_quote(given.shown) + " refers to " +
                               netlist_quote(name) + ", which subcircuit " +
                               netlist_quote(d.shown) + " also sets with '.param' (" +
                               deck_.where(local.at) + "); rename one");
      it->second = {std::move(given), &scope, 0, 0.0};
    }

    evaluate_all(inside);
    chain_.push_back({def, std::move(path), netlist_lower(shown)});
    expand(def, inside, connected);
    chain_.pop_back();
  }

  const NetlistDeck& deck_;
  const NetlistLimits& limits_;
  std::vector<Definition> defs_;
  std::unordered_set<std::string> globals_;
  std::unordered_set<std::string> instances_;
  std::vector<Frame> chain_;
  std::vector<const Scope::Entry*> evaluating_;  // the parameters being evaluated, innermost last
  std::vector<NetlistCard> out_;
  std::size_t cards_ = 0;
};

}  // namespace

std::vector<NetlistCard> flatten_netlist(const NetlistDeck& deck, const NetlistLimits& limits) {
  return Flattener(deck, limits).run();
}

}  // namespace aeqlab::sim
