// core/le.hpp: renamed core/bytes.hpp (issue 11); kept only until lib/cache includes that.
#pragma once
#include "core/bytes.hpp"
