// lib/version: what barstore is and what it was built with, for `barstore --version` and an
// engine's logs. It names LMDB, zstd and the tz database only to ask their versions, so that
// public headers never need their types.
#include "barstore/version.hpp"

#include <date/tz.h>
#include <lmdb.h>
#include <zstd.h>

#include <exception>
#include <fstream>
#include <string>

#include "codec/chunk.hpp"

namespace barstore {

namespace {

// date built with USE_OS_TZDB reads zones from /usr/share/zoneinfo but looks for the version only
// in a +VERSION file, which Debian does not ship, and says "unknown"; the tzdata.zi of that
// directory opens with the version ("# version 2025b").
std::string os_tzdata_version() {
    std::ifstream zi("/usr/share/zoneinfo/tzdata.zi");
    std::string line;
    if (zi && std::getline(zi, line) && line.starts_with("# version ")) return line.substr(10);
    return "unknown";
}

}  // namespace

// One number names the format in docs/format.md: the chunk header's version and the store's.
static_assert(codec::kFormatVersion == BARSTORE_FORMAT_VERSION);

const char* version() noexcept { return BARSTORE_VERSION_STRING; }

VersionInfo version_info() {
    VersionInfo v;
    v.barstore = version();
    v.format_version = BARSTORE_FORMAT_VERSION;
    int major = 0, minor = 0, patch = 0;
    mdb_version(&major, &minor, &patch);  // the library linked in, not the lmdb.h compiled against
    v.lmdb = std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
    v.zstd = ZSTD_versionString();
    try {
        v.tzdata = date::get_tzdb().version;
        if (v.tzdata == "unknown") v.tzdata = os_tzdata_version();
    } catch (const std::exception& e) {  // date throws std::runtime_error for a missing zoneinfo
        v.tzdata = std::string("unavailable: ") + e.what();
    }
    return v;
}

}  // namespace barstore
