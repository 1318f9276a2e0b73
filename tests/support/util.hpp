// tests/support/util.hpp: seeds, paths to ../shared data, temporary directories.
#pragma once
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

namespace test {

/// BARSTORE_SEED overrides; otherwise a fresh seed each run, printed by CAPTURE on failure.
inline std::uint64_t seed() {
    if (const char* s = std::getenv("BARSTORE_SEED")) return std::strtoull(s, nullptr, 10);
    return std::random_device{}() * 0x9E3779B97F4A7C15ull ^ std::random_device{}();
}

inline std::filesystem::path shared_dir() {
    const char* s = std::getenv("BARSTORE_SHARED");
    return s ? std::filesystem::path(s) : std::filesystem::path("../shared");
}
inline std::filesystem::path tests_dir() {
    const char* s = std::getenv("BARSTORE_TESTS");
    return s ? std::filesystem::path(s) : std::filesystem::path("tests");
}
inline std::filesystem::path btc_csv() { return shared_dir() / "data/csv/btc-perp-20211231-20220201_1m.csv"; }
inline std::filesystem::path spy_csv() { return shared_dir() / "data/csv/nt-spy-minute-2011.csv"; }

inline std::string read_text(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

/// A fresh directory removed when the object dies.
class TempDir {
public:
    TempDir() {
        auto base = std::filesystem::temp_directory_path();
        std::mt19937_64 rng(std::random_device{}());
        for (;;) {
            path_ = base / ("barstore-test-" + std::to_string(rng()));
            if (std::filesystem::create_directory(path_)) break;
        }
    }
    ~TempDir() { std::error_code ec; std::filesystem::remove_all(path_, ec); }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return path_; }
    std::filesystem::path operator/(const std::string& s) const { return path_ / s; }

private:
    std::filesystem::path path_;
};

}  // namespace test
