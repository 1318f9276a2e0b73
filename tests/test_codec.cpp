#include <doctest/doctest.h>
TEST_CASE("placeholder codec") { CHECK(true); }
