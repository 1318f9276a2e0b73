// tests/test_version.cpp: barstore/version.hpp against what it reports on: meson.build's project
// version, the format_version a new store records (read with LMDB's own API), and the LMDB and
// zstd the test itself links.
#include <doctest/doctest.h>
#include <lmdb.h>
#include <zstd.h>

#include <cstring>
#include <regex>
#include <string>

#include "barstore/barstore.hpp"
#include "support/raw_lmdb.hpp"
#include "support/util.hpp"

using namespace barstore;

TEST_CASE("the version macros and version() are meson.build's project version") {
    const auto meson_build = test::read_text(test::tests_dir() / ".." / "meson.build");
    std::smatch m;
    REQUIRE(std::regex_search(meson_build, m, std::regex(R"(version:\s*'(\d+)\.(\d+)\.(\d+)')")));
    CHECK(BARSTORE_VERSION_MAJOR == std::stoi(m[1]));
    CHECK(BARSTORE_VERSION_MINOR == std::stoi(m[2]));
    CHECK(BARSTORE_VERSION_PATCH == std::stoi(m[3]));
    const std::string want = std::string(m[1]) + "." + std::string(m[2]) + "." + std::string(m[3]);
    CHECK(std::string(BARSTORE_VERSION_STRING) == want);
    CHECK(std::string(version()) == want);
    CHECK(version_info().barstore == want);
}

TEST_CASE("the format version is the one a new store records in meta") {
    test::TempDir dir;
    { auto store = Store::open(dir.path()); }
    test::RawEnv env(dir.path());
    MDB_txn* txn = nullptr;
    REQUIRE(mdb_txn_begin(env.get(), nullptr, MDB_RDONLY, &txn) == 0);
    MDB_dbi meta{};
    REQUIRE(mdb_dbi_open(txn, "meta", 0, &meta) == 0);
    MDB_val k{std::strlen("format_version"), const_cast<char*>("format_version")}, v{};
    REQUIRE(mdb_get(txn, meta, &k, &v) == 0);
    REQUIRE(v.mv_size == 4);
    const auto* b = static_cast<const unsigned char*>(v.mv_data);
    const std::uint32_t stored = b[0] | b[1] << 8 | b[2] << 16 | std::uint32_t{b[3]} << 24;  // little-endian
    mdb_txn_abort(txn);
    CHECK(stored == BARSTORE_FORMAT_VERSION);
    CHECK(version_info().format_version == stored);
}

TEST_CASE("version_info names the LMDB, zstd and tz database in use") {
    const auto v = version_info();
    CHECK(v.lmdb == std::to_string(MDB_VERSION_MAJOR) + "." + std::to_string(MDB_VERSION_MINOR) + "." +
                        std::to_string(MDB_VERSION_PATCH));
    CHECK(v.zstd == ZSTD_VERSION_STRING);
    // IANA releases are a year and a letter; "unknown" would mean the fallback failed.
    CHECK_MESSAGE(std::regex_match(v.tzdata, std::regex(R"(\d{4}[a-z])")), v.tzdata);
}
