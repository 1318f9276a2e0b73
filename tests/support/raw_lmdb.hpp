// tests/support/raw_lmdb.hpp: an LMDB environment opened by hand, for tests that write what
// barstore itself never would (a flipped byte, an old format version, a foreign table).
#pragma once
#include <doctest/doctest.h>
#include <lmdb.h>

#include <filesystem>

namespace test {

/// Opens `dir` with LMDB's own API, closed when the object dies. The map is 64 MiB, not the
/// 1 TiB a store records: mapping that under TSan or ASan fails with ENOMEM (their shadow memory
/// takes the address space), and LMDB grows the map to the file's size anyway.
class RawEnv {
public:
    explicit RawEnv(const std::filesystem::path& dir, unsigned flags = 0) {
        REQUIRE(mdb_env_create(&env_) == 0);
        REQUIRE(mdb_env_set_maxdbs(env_, 8) == 0);
        REQUIRE(mdb_env_set_mapsize(env_, std::size_t{64} << 20) == 0);
        REQUIRE(mdb_env_open(env_, dir.c_str(), flags, 0640) == 0);
    }
    ~RawEnv() { mdb_env_close(env_); }
    RawEnv(const RawEnv&) = delete;
    RawEnv& operator=(const RawEnv&) = delete;
    MDB_env* get() const { return env_; }

private:
    MDB_env* env_ = nullptr;
};

}  // namespace test
