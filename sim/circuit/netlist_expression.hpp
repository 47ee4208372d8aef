#pragma once
// SPICE parameter expressions, as in `.param rl={2*r0+1k}` or `R1 a b 'rl/2'`: numbers with
// SPICE's suffixes, parameter names, + - * / and ** (or ^), unary minus and plus, parentheses.
// Bounded: nesting deeper than kMaxExpressionDepth is refused rather than recursed into, so a
// hostile netlist cannot exhaust the stack. docs/circuit.md, "Parameters and expressions".

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace aeqlab::sim {

// Parentheses, signs and parameters referring to parameters, all counted together.
inline constexpr int kMaxExpressionDepth = 256;

// What went wrong, without a location: the netlist reader adds the file, line and parameter.
struct ExpressionError {
  std::string what;
};

// The value of `text` (no braces or quotes around it). `lookup` gives a parameter's value by its
// lower-case name, or throws (ExpressionError or DataError) if there is none. Throws
// ExpressionError for a syntax error, a division by zero or a result that is not finite.
double evaluate_expression(std::string_view text,
                           const std::function<double(const std::string&)>& lookup);

// The parameter names `text` refers to, lower case, in order of appearance (syntax not checked).
std::vector<std::string> expression_names(std::string_view text);

}  // namespace aeqlab::sim
