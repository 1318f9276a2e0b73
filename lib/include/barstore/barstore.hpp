// barstore/barstore.hpp: the whole public API.
#pragma once
#include "barstore/batch.hpp"
#include "barstore/decimal.hpp"
#include "barstore/error.hpp"
#include "barstore/ingest.hpp"
#include "barstore/load.hpp"
#include "barstore/query.hpp"
#include "barstore/reader.hpp"
#include "barstore/resample.hpp"
#include "barstore/store.hpp"
#include "barstore/time.hpp"
#include "barstore/types.hpp"
