// One error hierarchy: every error aeqlab raises on purpose, the drivers' included, is an
// aeqlab::Error, so a caller that handles "aeqlab refused or failed" catches one type.

#include "drivers/errors.hpp"

#include <stdexcept>
#include <string>
#include <type_traits>

#include <gtest/gtest.h>

#include "core/error.hpp"

namespace aeqlab::drivers {
namespace {

template <class E>
constexpr bool rooted =
    std::is_base_of_v<aeqlab::Error, E>&& std::is_base_of_v<std::runtime_error, E>;

static_assert(rooted<ConfigError> && rooted<DataError> && rooted<SafeRangeError> &&
              rooted<DeviceError> && rooted<Interrupted>);
static_assert(rooted<TransportError> && rooted<AddressError> && rooted<ConnectError> &&
              rooted<TimeoutError> && rooted<DisconnectedError> && rooted<ReplyError> &&
              rooted<InstrumentError>);

TEST(Errors, ADriversErrorIsCaughtAsAnAeqlabErrorWithItsTextAndFields) {
  try {
    throw InstrumentError("instrument \"dac\" at tcp://127.0.0.1:5025: -222,\"Data out of range\"",
                          -222, "Data out of range");
  } catch (const aeqlab::Error& e) {
    EXPECT_STREQ(e.what(),
                 "instrument \"dac\" at tcp://127.0.0.1:5025: -222,\"Data out of range\"");
    const auto* instrument = dynamic_cast<const InstrumentError*>(&e);
    ASSERT_NE(instrument, nullptr);
    EXPECT_EQ(instrument->code, -222);
    EXPECT_EQ(instrument->text, "Data out of range");
  }
}

}  // namespace
}  // namespace aeqlab::drivers
