#include "drivers/scpi_session.hpp"

#include <charconv>
#include <stdexcept>
#include <thread>

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include "drivers/errors.hpp"

namespace aeqlab::drivers {

namespace {

// Where a conversation stood when it timed out: it tells "the instrument would not take the
// command" from "the instrument did not answer".
enum class Stage { sending, reading };

constexpr std::size_t kCommandShown = 80;
constexpr std::size_t kReplyShown = 60;
// An error-queue entry's text is the instrument's own explanation: SCPI bounds it at 255
// characters, so it is shown whole up to that.
constexpr std::size_t kErrorTextShown = 255;
constexpr int kMaxErrorEntries = 100;

// Printable, escaped and bounded: wire bytes go into messages a person reads on a console.
std::string shown(std::string_view bytes, std::size_t max) {
  std::string out;
  for (const char c : bytes) {
    if (out.size() >= max) {
      out += "...";
      break;
    }
    const auto u = static_cast<unsigned char>(c);
    if (c == '\n')
      out += "\\n";
    else if (c == '\r')
      out += "\\r";
    else if (c == '\t')
      out += "\\t";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\\')
      out += "\\\\";
    else if (u < 0x20 || u >= 0x7f)
      out += fmt::format("\\x{:02x}", u);
    else
      out += c;
  }
  return out;
}

std::string_view trim(std::string_view s) {
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

// The line without its terminator; also a stray "\r" from an instrument that ends lines with
// "\r\n" when "\n" was configured.
std::string strip_line(std::string line, std::string_view terminator) {
  if (line.size() >= terminator.size() &&
      std::string_view(line).substr(line.size() - terminator.size()) == terminator)
    line.resize(line.size() - terminator.size());
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  return line;
}

// The transport names the address at the start of its messages; the session names it already.
std::string_view detail(const std::exception& e, std::string_view address) {
  std::string_view what = e.what();
  if (what.starts_with(address) && what.substr(address.size()).starts_with(": "))
    what.remove_prefix(address.size() + 2);
  return what;
}

bool parse_double(std::string_view field, double& out) {
  if (field.empty()) return false;
  // from_chars does not take the "+" SCPI instruments like to print ("+1.234E+00").
  if (field.front() == '+') {
    field.remove_prefix(1);
    if (field.empty() || field.front() == '-' || field.front() == '+') return false;
  }
  const auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), out);
  return ec == std::errc() && end == field.data() + field.size();
}

struct Context {
  const std::string& who;  // instrument "x" at tcp://...
  const ScpiOptions& options;
};

// Reads the error queue until "0,..." into errors; the conversation's lock is already held.
void drain_into(Transport::Conversation& c, const Context& ctx, std::vector<ScpiError>& errors) {
  const std::string culprit = fmt::format("{}: reply to \"{}\"", ctx.who, ctx.options.error_query);
  std::string query = ctx.options.error_query;
  query += ctx.options.write_terminator;
  while (errors.size() < std::size_t(kMaxErrorEntries)) {
    c.write(query, ctx.options.timeout);
    const std::string line = strip_line(
        c.read_until(ctx.options.read_terminator, ctx.options.timeout, ctx.options.max_reply_bytes),
        ctx.options.read_terminator);
    ScpiError e = ScpiSession::parse_error_entry(line, culprit);
    if (e.code == 0) return;
    errors.push_back(std::move(e));
  }
  spdlog::warn("{}: error queue still not empty after {} entries; giving up on it", ctx.who,
               kMaxErrorEntries);
}

// Sends a complete message (command, error query and terminator) and, when errors are checked,
// reads the entry the instrument answered and whatever else its queue holds.
std::vector<ScpiError> send_checked(Transport::Conversation& c, Stage& stage,
                                    const std::string& message, const Context& ctx) {
  c.write(message, ctx.options.timeout);
  if (!ctx.options.check_errors) return {};
  stage = Stage::reading;
  const std::string line = strip_line(
      c.read_until(ctx.options.read_terminator, ctx.options.timeout, ctx.options.max_reply_bytes),
      ctx.options.read_terminator);
  ScpiError first = ScpiSession::parse_error_entry(
      line, fmt::format("{}: reply to \"{}\"", ctx.who, ctx.options.error_query));
  if (first.code == 0) return {};
  std::vector<ScpiError> errors{std::move(first)};
  drain_into(c, ctx, errors);
  return errors;
}

void throw_refused(const std::string& who, const std::string& culprit,
                   const std::vector<ScpiError>& errors) {
  if (errors.empty()) return;
  std::string list;
  for (const auto& e : errors) {
    if (!list.empty()) list += "; ";
    list += fmt::format("{},\"{}\"", e.code, shown(e.text, kErrorTextShown));
  }
  throw InstrumentError(fmt::format("{}: \"{}\" was refused: {}", who, culprit, list),
                        errors.front().code, errors.front().text);
}

std::string with_terminator(std::string_view command, const std::string& terminator) {
  std::string message(command);
  message += terminator;
  return message;
}

}  // namespace

ScpiSession::ScpiSession(std::string name, std::unique_ptr<Transport> transport,
                         ScpiOptions options)
    : name_(std::move(name)), transport_(std::move(transport)), options_(std::move(options)) {
  if (!transport_)
    throw std::invalid_argument(fmt::format("instrument \"{}\": no transport", name_));
}

const std::string& ScpiSession::address() const {
  return transport_->address();
}

// Runs body(conversation, stage) while holding the instrument for the whole exchange, retrying
// after timeouts and reopening after disconnects as the options allow.
template <class F>
auto ScpiSession::with_recovery(std::string_view command, F&& body) {
  const std::string who = fmt::format("instrument \"{}\" at {}", name_, address());
  auto conversation = transport_->converse();
  int attempts = 0, timeouts = 0, reopens = 0;
  for (;;) {
    ++attempts;
    Stage stage = Stage::sending;
    try {
      // A reply that came after its query timed out must not pass for this command's reply.
      conversation.discard_input();
      return body(conversation, stage);
    } catch (const TimeoutError& e) {
      if (timeouts >= options_.retries) {
        const std::string_view why = detail(e, address());
        if (stage == Stage::sending)
          throw TimeoutError(fmt::format("{}: could not send \"{}\" ({} attempts): {}", who,
                                         command, attempts, why));
        std::string message = fmt::format("{}: no reply to \"{}\" within {} ms ({} attempts)", who,
                                          command, options_.timeout.count(), attempts);
        if (!why.starts_with("no reply")) {
          message += "; ";
          message += why;
        }
        throw TimeoutError(message);
      }
      ++timeouts;
      spdlog::warn("{}: {} for \"{}\"; retrying ({} of {})", who, detail(e, address()), command,
                   timeouts, options_.retries);
    } catch (const DisconnectedError& e) {
      std::string last(detail(e, address()));
      for (bool reopened = false; !reopened;) {
        if (reopens >= options_.reconnects) {
          if (reopens == 0)
            throw DisconnectedError(
                fmt::format("{}: connection lost during \"{}\": {}", who, command, last));
          throw DisconnectedError(
              fmt::format("{}: connection lost during \"{}\" and {} reconnect attempt{} failed: {}",
                          who, command, reopens, reopens == 1 ? "" : "s", last));
        }
        ++reopens;
        spdlog::warn("{}: {}; reconnecting in {} ms (attempt {} of {})", who, last,
                     options_.reconnect_delay.count(), reopens, options_.reconnects);
        std::this_thread::sleep_for(options_.reconnect_delay);
        try {
          conversation.reopen();
          reopened = true;
        } catch (const ConnectError& ce) {
          last = detail(ce, address());
        }
      }
    } catch (const ReplyError&) {
      // The rest of a reply that did not parse would be read as the next command's answer.
      try {
        conversation.discard_input();
      } catch (const TransportError&) {
      }
      throw;
    }
  }
}

void ScpiSession::write(std::string_view command) {
  std::string message(command);
  if (options_.check_errors) {
    message += options_.chain_separator;
    message += options_.error_query;
  }
  message += options_.write_terminator;
  const std::string culprit = shown(command, kCommandShown);
  const std::string who = fmt::format("instrument \"{}\" at {}", name_, address());
  const auto errors = with_recovery(culprit, [&](Transport::Conversation& c, Stage& stage) {
    return send_checked(c, stage, message, Context{who, options_});
  });
  throw_refused(who, culprit, errors);
}

void ScpiSession::write_chained(std::span<const std::string> commands) {
  std::string joined;
  for (const auto& command : commands) {
    if (!joined.empty()) joined += options_.chain_separator;
    joined += command;
  }
  if (!joined.empty()) write(joined);
}

std::string ScpiSession::query(std::string_view command) {
  const std::string message = with_terminator(command, options_.write_terminator);
  return with_recovery(
      shown(command, kCommandShown), [&](Transport::Conversation& c, Stage& stage) {
        c.write(message, options_.timeout);
        stage = Stage::reading;
        return strip_line(
            c.read_until(options_.read_terminator, options_.timeout, options_.max_reply_bytes),
            options_.read_terminator);
      });
}

std::vector<double> ScpiSession::query_values(std::string_view command,
                                              std::size_t expected_count) {
  const std::string reply = query(command);
  const auto fail = [&](const std::string& what) {
    throw ReplyError(fmt::format("instrument \"{}\" at {}: reply to \"{}\" {}: \"{}\"", name_,
                                 address(), shown(command, kCommandShown), what,
                                 shown(reply, kReplyShown)));
  };
  std::vector<double> values;
  if (!trim(reply).empty()) {
    std::string_view rest = reply;
    for (std::size_t index = 1;; ++index) {
      const auto comma = rest.find(',');
      const std::string_view field = trim(rest.substr(0, comma));
      double v = 0;
      if (!parse_double(field, v))
        fail(fmt::format("has a field {} (\"{}\") that is not a number", index, shown(field, 20)));
      values.push_back(v);
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  if (expected_count != 0 && values.size() != expected_count)
    fail(fmt::format("has {} value{} where {} {} expected", values.size(),
                     values.size() == 1 ? "" : "s", expected_count,
                     expected_count == 1 ? "was" : "were"));
  return values;
}

std::string ScpiSession::query_block(std::string_view command) {
  const std::string message = with_terminator(command, options_.write_terminator);
  const std::string culprit = shown(command, kCommandShown);
  return with_recovery(culprit, [&](Transport::Conversation& c, Stage& stage) {
    c.write(message, options_.timeout);
    stage = Stage::reading;
    const auto bad = [&](std::string_view what, std::string_view got) {
      throw ReplyError(
          fmt::format("instrument \"{}\" at {}: reply to \"{}\" is not a "
                      "definite-length block: {} (got \"{}\")",
                      name_, address(), culprit, what, shown(got, kReplyShown)));
    };
    const std::string head = c.read_exact(2, options_.timeout);
    if (head[0] != '#') bad("it does not start with '#'", head);
    if (head[1] == '0') bad("indefinite-length blocks (#0) are not supported", head);
    if (head[1] < '1' || head[1] > '9') bad("'#' is not followed by a digit 1-9", head);
    const std::string digits = c.read_exact(std::size_t(head[1] - '0'), options_.timeout);
    std::size_t length = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), length);
    if (ec != std::errc() || end != digits.data() + digits.size())
      bad("the length is not a number", head + digits);
    if (length > options_.max_reply_bytes)
      bad(fmt::format("it announces {} bytes, more than the {} taken (max_reply_bytes)", length,
                      options_.max_reply_bytes),
          head + digits);
    std::string payload = c.read_exact(length, options_.timeout);
    const std::string tail = strip_line(
        c.read_until(options_.read_terminator, options_.timeout, options_.max_reply_bytes),
        options_.read_terminator);
    if (!tail.empty()) bad(fmt::format("{} unexpected bytes after the block", tail.size()), tail);
    return payload;
  });
}

void ScpiSession::write_block(std::string_view command_prefix, std::string_view payload) {
  std::string message(command_prefix);
  message += definite_length_block(payload);
  if (options_.check_errors) {
    message += options_.chain_separator;
    message += options_.error_query;
  }
  message += options_.write_terminator;
  // Payload bytes are never shown: they are binary and can be megabytes.
  std::string culprit = shown(command_prefix, kCommandShown);
  culprit += fmt::format("<block of {} bytes>", payload.size());
  const std::string who = fmt::format("instrument \"{}\" at {}", name_, address());
  const auto errors = with_recovery(culprit, [&](Transport::Conversation& c, Stage& stage) {
    return send_checked(c, stage, message, Context{who, options_});
  });
  throw_refused(who, culprit, errors);
}

std::string ScpiSession::identify() {
  return query("*IDN?");
}

void ScpiSession::wait_complete() {
  const std::string reply = query("*OPC?");
  const std::string_view value = trim(reply);
  if (value != "1" && value != "+1")
    throw ReplyError(fmt::format("instrument \"{}\" at {}: reply to \"*OPC?\" is \"{}\", not 1",
                                 name_, address(), shown(reply, kReplyShown)));
}

void ScpiSession::clear() {
  const std::string message = with_terminator("*CLS", options_.write_terminator);
  with_recovery("*CLS",
                [&](Transport::Conversation& c, Stage&) { c.write(message, options_.timeout); });
}

std::vector<ScpiError> ScpiSession::drain_errors() {
  const std::string who = fmt::format("instrument \"{}\" at {}", name_, address());
  return with_recovery(options_.error_query, [&](Transport::Conversation& c, Stage& stage) {
    stage = Stage::reading;
    std::vector<ScpiError> errors;
    drain_into(c, Context{who, options_}, errors);
    return errors;
  });
}

std::string ScpiSession::definite_length_block(std::string_view payload) {
  const std::string length = std::to_string(payload.size());
  if (length.size() > 9)
    throw std::length_error(fmt::format(
        "a definite-length block holds at most 999999999 bytes, not {}", payload.size()));
  std::string block = "#";
  block += char('0' + length.size());
  block += length;
  block += payload;
  return block;
}

std::string ScpiSession::printable(std::string_view bytes, std::size_t max) {
  return shown(bytes, max);
}

ScpiError ScpiSession::parse_error_entry(std::string_view reply, std::string_view culprit) {
  const std::string_view entry = trim(reply);
  const auto fail = [&] {
    throw ReplyError(
        fmt::format("{}: cannot read the error entry \"{}\"; expected "
                    "<code>,\"<text>\"",
                    culprit, shown(reply, kReplyShown)));
  };
  const auto comma = entry.find(',');
  std::string_view code_text = trim(entry.substr(0, comma));
  // from_chars does not take the "+" most instruments print before the code.
  if (code_text.starts_with('+')) {
    code_text.remove_prefix(1);
    if (code_text.starts_with('+') || code_text.starts_with('-')) fail();
  }
  ScpiError e;
  if (code_text.empty()) fail();
  const auto [end, ec] =
      std::from_chars(code_text.data(), code_text.data() + code_text.size(), e.code);
  if (ec != std::errc() || end != code_text.data() + code_text.size()) fail();
  if (comma == std::string_view::npos) return e;  // a bare code, as some instruments send
  std::string_view text = trim(entry.substr(comma + 1));
  if (text.size() >= 2 && text.front() == '"' && text.back() == '"') {
    text = text.substr(1, text.size() - 2);
    // SCPI strings double an embedded quote.
    for (std::size_t i = 0; i < text.size(); ++i) {
      e.text += text[i];
      if (text[i] == '"' && i + 1 < text.size() && text[i + 1] == '"') ++i;
    }
  } else {
    e.text = std::string(text);
  }
  return e;
}

}  // namespace aeqlab::drivers
