#include <doctest/doctest.h>
TEST_CASE("placeholder dbn") { CHECK(true); }
