#include "sim/circuit/netlist_expression.hpp"

#include <cctype>
#include <cmath>

#include "sim/circuit/circuit_netlist.hpp"

namespace aeqlab::sim {

namespace {

bool name_start(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_';
}
bool name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}
std::string lower(std::string_view s) {
  std::string r(s);
  for (char& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

// Recursive descent over ngspice's grammar, checked against ngspice 39 on this machine:
// `-2^2` is -4 (the power binds tighter than unary minus), `2^3^2` is 64 (left to right), `log`
// is the natural logarithm.
class Parser {
 public:
  Parser(std::string_view text, const std::function<double(const std::string&)>& lookup)
      : text_(text), lookup_(lookup) {}

  double run() {
    const double v = sum();
    skip_space();
    if (at_ < text_.size()) fail("unexpected '" + std::string(1, text_[at_]) + "'");
    if (!std::isfinite(v)) fail("the result is not a finite number");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const { throw ExpressionError{what}; }

  void skip_space() {
    while (at_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[at_]))) ++at_;
  }

  bool take(std::string_view op) {
    skip_space();
    if (text_.substr(at_, op.size()) != op) return false;
    at_ += op.size();
    return true;
  }

  // Each nested sum (parentheses, function arguments, a parameter's own expression) and each
  // sign costs a level. Counted per thread across parsers, so a chain of parameters that refer
  // to parameters is bounded by the same budget.
  struct Deeper {
    explicit Deeper(Parser& p) {
      if (++depth_ > kMaxExpressionDepth) {
        --depth_;
        p.fail("nested deeper than " + std::to_string(kMaxExpressionDepth) +
               " levels (parentheses, signs, parameters referring to parameters)");
      }
    }
    ~Deeper() { --depth_; }
    Deeper(const Deeper&) = delete;
    Deeper& operator=(const Deeper&) = delete;
  };
  static thread_local int depth_;

  double sum() {
    Deeper guard(*this);
    double v = product();
    for (;;) {
      if (take("+")) {
        v += product();
      } else if (take("-")) {
        v -= product();
      } else {
        return v;
      }
    }
  }

  double product() {
    double v = signed_power();
    for (;;) {
      if (take("*")) {
        v *= signed_power();
      } else if (take("/")) {
        const double d = signed_power();
        if (d == 0.0) fail("division by zero");
        v /= d;
      } else {
        return v;
      }
    }
  }

  double signed_power() {
    Deeper guard(*this);
    if (take("-")) return -signed_power();
    if (take("+")) return signed_power();
    double v = primary();
    for (;;) {
      if (take("**") || take("^")) {
        v = std::pow(v, exponent());
      } else {
        return v;
      }
    }
  }

  // The right side of a power: signs, then one primary (so 2^3^2 groups to the left).
  double exponent() {
    Deeper guard(*this);
    if (take("-")) return -exponent();
    if (take("+")) return exponent();
    return primary();
  }

  double primary() {
    skip_space();
    if (at_ >= text_.size()) fail("unexpected end");
    const char c = text_[at_];
    if (c == '(') {
      ++at_;
      const double v = sum();
      if (!take(")")) fail("missing ')'");
      return v;
    }
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') return number();
    if (name_start(c)) {
      const std::size_t start = at_;
      while (at_ < text_.size() && name_char(text_[at_])) ++at_;
      const std::string name = lower(text_.substr(start, at_ - start));
      if (take("(")) return function(name);
      return lookup_(name);
    }
    fail("unexpected '" + std::string(1, c) + "'");
  }

  // Digits, a fraction, an exponent, then letters (the suffix and ignored units, as in 4.7kohm).
  double number() {
    const std::size_t start = at_;
    auto digit = [&](std::size_t k) {
      return k < text_.size() && std::isdigit(static_cast<unsigned char>(text_[k]));
    };
    while (digit(at_) || (at_ < text_.size() && text_[at_] == '.')) ++at_;
    if (at_ < text_.size() && (text_[at_] == 'e' || text_[at_] == 'E')) {
      std::size_t k = at_ + 1;
      if (k < text_.size() && (text_[k] == '+' || text_[k] == '-')) ++k;
      if (digit(k)) {
        at_ = k;
        while (digit(at_)) ++at_;
      }
    }
    while (at_ < text_.size() && std::isalpha(static_cast<unsigned char>(text_[at_]))) ++at_;
    double v = 0.0;
    const auto literal = text_.substr(start, at_ - start);
    if (!parse_spice_number(literal, v)) fail("'" + std::string(literal) + "' is not a number");
    return v;
  }

  double function(const std::string& name) {
    std::vector<double> args;
    if (!take(")")) {
      do args.push_back(sum());
      while (take(","));
      if (!take(")")) fail("missing ')' after the arguments of " + name);
    }
    auto want = [&](std::size_t n) {
      if (args.size() != n)
        fail(name + " takes " + std::to_string(n) + " argument" + (n == 1 ? "" : "s") + ", not " +
             std::to_string(args.size()));
    };
    if (name == "sqrt") return want(1), std::sqrt(args[0]);
    if (name == "abs") return want(1), std::abs(args[0]);
    if (name == "exp") return want(1), std::exp(args[0]);
    if (name == "log" || name == "ln") return want(1), std::log(args[0]);
    if (name == "log10") return want(1), std::log10(args[0]);
    if (name == "min") return want(2), std::min(args[0], args[1]);
    if (name == "max") return want(2), std::max(args[0], args[1]);
    if (name == "pow") return want(2), std::pow(args[0], args[1]);
    fail("unknown function '" + name +
         "' (aeqlab knows sqrt, abs, exp, log, ln, log10, min, max, pow)");
  }

  std::string_view text_;
  const std::function<double(const std::string&)>& lookup_;
  std::size_t at_ = 0;
};

thread_local int Parser::depth_ = 0;

}  // namespace

double evaluate_expression(std::string_view text,
                           const std::function<double(const std::string&)>& lookup) {
  return Parser(text, lookup).run();
}

std::vector<std::string> expression_names(std::string_view text) {
  std::vector<std::string> names;
  std::size_t i = 0;
  while (i < text.size()) {
    if (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.') {
      // A number and its suffix letters: "1k" names no parameter.
      while (i < text.size() && (name_char(text[i]) || text[i] == '.')) ++i;
    } else if (name_start(text[i])) {
      const std::size_t start = i;
      while (i < text.size() && name_char(text[i])) ++i;
      std::size_t k = i;
      while (k < text.size() && std::isspace(static_cast<unsigned char>(text[k]))) ++k;
      if (k >= text.size() || text[k] != '(') names.push_back(lower(text.substr(start, i - start)));
    } else {
      ++i;
    }
  }
  return names;
}

}  // namespace aeqlab::sim
