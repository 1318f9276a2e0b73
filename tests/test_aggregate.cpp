#include <doctest/doctest.h>
TEST_CASE("placeholder aggregate") { CHECK(true); }
