// ingest/parse_file.cpp: read a file whole and hand it to the CSV or DBN decoder.
// The file is mapped read-only, so a multi-GB CSV costs no copy and no heap.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "barstore/error.hpp"
#include "barstore/ingest.hpp"

namespace barstore {

namespace {

class MappedFile {
public:
    explicit MappedFile(const std::filesystem::path& path) {
        fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd_ < 0) fail(path, "cannot open");
        struct stat st {};
        if (::fstat(fd_, &st) != 0) fail(path, "cannot stat");
        if (!S_ISREG(st.st_mode)) {
            ::close(fd_);
            throw IoError(path.string() + ": error: not a regular file");
        }
        size_ = static_cast<std::size_t>(st.st_size);
        if (size_ > 0) {
            void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd_, 0);
            if (p == MAP_FAILED) fail(path, "cannot map");
            data_ = static_cast<const std::byte*>(p);
            ::madvise(p, size_, MADV_SEQUENTIAL);
        }
    }
    ~MappedFile() {
        if (data_) ::munmap(const_cast<std::byte*>(data_), size_);
        if (fd_ >= 0) ::close(fd_);
    }
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;
    std::span<const std::byte> bytes() const { return {data_, size_}; }

private:
    [[noreturn]] void fail(const std::filesystem::path& path, const char* what) {
        const int err = errno;
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
        throw IoError(path.string() + ": error: " + what + ": " + std::strerror(err));
    }
    int fd_ = -1;
    const std::byte* data_ = nullptr;
    std::size_t size_ = 0;
};

bool looks_like_dbn(std::span<const std::byte> b) {
    if (b.size() < 4) return false;
    const auto u = [&](std::size_t i) { return static_cast<unsigned char>(b[i]); };
    const bool dbn = u(0) == 'D' && u(1) == 'B' && u(2) == 'N';
    const bool zstd_frame = u(0) == 0x28 && u(1) == 0xB5 && u(2) == 0x2F && u(3) == 0xFD;
    const bool zstd_skippable = (u(0) & 0xF0) == 0x50 && u(1) == 0x2A && u(2) == 0x4D && u(3) == 0x18;
    return dbn || zstd_frame || zstd_skippable;
}

}  // namespace

std::vector<SeriesBatch> parse_file(const std::filesystem::path& path, FileFormat format,
                                    const ParseOptions& opts) {
    MappedFile file(path);
    const auto bytes = file.bytes();
    if (format == FileFormat::auto_detect) {
        const auto name = path.filename().string();
        const bool dbn_name = name.find(".dbn") != std::string::npos;
        format = dbn_name || looks_like_dbn(bytes) ? FileFormat::dbn : FileFormat::csv;
    }
    ParseOptions o = opts;
    if (format == FileFormat::csv) {
        if (o.symbol.empty()) o.symbol = path.stem().string();
        return parse_csv({reinterpret_cast<const char*>(bytes.data()), bytes.size()}, path.string(), o);
    }
    return parse_dbn(bytes, path.string(), o);
}

}  // namespace barstore
