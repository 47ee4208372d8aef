#pragma once
// One compact JSON object written field by field, in the order the fields are added: the event
// log's busiest lines (steps, phases) without building a JSON tree for each. Numbers are written
// shortest-exact ({fmt}'s "{}"); a non-finite one as null (JSON has no NaN or infinity).

#include <cmath>
#include <cstddef>
#include <string>
#include <string_view>

#include <spdlog/fmt/fmt.h>

namespace aeqlab {

class JsonLine {
 public:
  explicit JsonLine(std::string& out) : out_(out) {
    out_.clear();
    out_ += '{';
  }
  JsonLine& field(std::string_view key, double v) {
    name(key);
    number(v);
    return *this;
  }
  JsonLine& field(std::string_view key, std::size_t v) {
    name(key);
    fmt::format_to(std::back_inserter(out_), "{}", v);
    return *this;
  }
  JsonLine& field(std::string_view key, bool v) {
    name(key);
    out_ += v ? "true" : "false";
    return *this;
  }
  JsonLine& field(std::string_view key, std::string_view text) {
    name(key);
    quoted(text);
    return *this;
  }
  JsonLine& field(std::string_view key, const char* text) {
    return field(key, std::string_view(text));
  }
  // An object or array as the next field (key given) or array element (no key); close() ends it.
  JsonLine& open_object(std::string_view key) {
    name(key);
    return open('{');
  }
  JsonLine& open_array(std::string_view key) {
    name(key);
    return open('[');
  }
  JsonLine& open_array() {
    comma();
    return open('[');
  }
  JsonLine& element(double v) {
    comma();
    number(v);
    return *this;
  }
  JsonLine& close(char bracket) {
    out_ += bracket;
    first_ = false;
    return *this;
  }
  // Ends the object: the line is complete in the string given to the constructor.
  void end() { out_ += '}'; }

 private:
  JsonLine& open(char bracket) {
    out_ += bracket;
    first_ = true;
    return *this;
  }
  void comma() {
    if (!first_) out_ += ',';
    first_ = false;
  }
  void name(std::string_view key) {
    comma();
    quoted(key);
    out_ += ':';
  }
  void number(double v) {
    if (std::isfinite(v))
      fmt::format_to(std::back_inserter(out_), "{}", v);
    else
      out_ += "null";
  }
  // Names and times need no escaping but a quote or backslash would: escaped, not trusted.
  void quoted(std::string_view text) {
    out_ += '"';
    for (const char c : text) {
      if (c == '"' || c == '\\') out_ += '\\';
      if (static_cast<unsigned char>(c) < 0x20)
        fmt::format_to(std::back_inserter(out_), "\\u{:04x}", int(c));
      else
        out_ += c;
    }
    out_ += '"';
  }

  std::string& out_;
  bool first_ = true;
};

}  // namespace aeqlab
