// tests/test_util.hpp: moved to tests/support/util.hpp with the other shared test helpers. This
// forwards for tests written before the move; new tests include "support/util.hpp".
#pragma once
#include "support/util.hpp"
