// ingest/parse_file.cpp: read a file (or standard input, `-`) whole, decompress gzip or zstd CSV,
// and hand it to the CSV or DBN decoder. A plain file is mapped read-only, so a multi-GB CSV
// costs no copy and no heap; compressed or piped input is held in memory, decoded whole.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "barstore/error.hpp"
#include "barstore/ingest.hpp"
#include "ingest/decompress.hpp"

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

// Standard input read to its end: a pipe has no size to map.
ingest_detail::GrowBuffer read_stdin(const std::string& name) {
    ingest_detail::GrowBuffer buf;
    buf.reserve(4u << 20);
    for (;;) {
        if (buf.size() == buf.capacity()) buf.reserve(buf.capacity() * 2);
        const ssize_t n = ::read(STDIN_FILENO, buf.data() + buf.size(), buf.capacity() - buf.size());
        if (n == 0) break;
        if (n < 0) {
            if (errno == EINTR) continue;
            throw IoError(name + ": error: cannot read: " + std::strerror(errno));
        }
        buf.set_size(buf.size() + static_cast<std::size_t>(n));
    }
    return buf;
}

bool dbn_magic(std::span<const std::byte> b) {
    const auto u = [&](std::size_t i) { return static_cast<unsigned char>(b[i]); };
    return b.size() >= 4 && u(0) == 'D' && u(1) == 'B' && u(2) == 'N';
}
bool zstd_skippable(std::span<const std::byte> b) {
    const auto u = [&](std::size_t i) { return static_cast<unsigned char>(b[i]); };
    return b.size() >= 4 && (u(0) & 0xF0) == 0x50 && u(1) == 0x2A && u(2) == 0x4D && u(3) == 0x18;
}

}  // namespace

std::string input_name(const std::filesystem::path& path) { return path == "-" ? "<stdin>" : path.string(); }

std::vector<SeriesBatch> parse_file(const std::filesystem::path& path, FileFormat format,
                                    const ParseOptions& opts) {
    using namespace ingest_detail;
    const std::string name = input_name(path);
    std::optional<MappedFile> file;
    GrowBuffer piped;
    std::span<const std::byte> bytes;
    if (path == "-") {
        piped = read_stdin(name);
        bytes = piped.bytes();
    } else {
        bytes = file.emplace(path).bytes();
    }
    refuse_archives(bytes, name);
    auto compression = sniff_compression(bytes);
    // gzip is CSV's (Databento writes zstd): decoded first, then told apart like a plain file.
    GrowBuffer plain;
    if (compression == Compression::gzip) {
        plain = decompress(bytes, compression, name);
        bytes = plain.bytes();
        compression = Compression::none;
    }
    if (format == FileFormat::auto_detect) {
        // A zstd frame is DBN (.dbn.zst) or CSV (.csv.zst): its first decoded bytes tell.
        const auto head = compression == Compression::zstd ? zstd_head(bytes, 4) : std::string();
        const bool dbn = path.filename().string().find(".dbn") != std::string::npos || dbn_magic(bytes) ||
                         zstd_skippable(bytes) ||
                         dbn_magic(std::as_bytes(std::span<const char>(head.data(), head.size())));
        format = dbn ? FileFormat::dbn : FileFormat::csv;
    }
    if (format == FileFormat::dbn) {
        if (!opts.columns.empty()) throw InvalidInput(name + ": error: --columns applies to CSV files, not DBN");
        return parse_dbn(bytes, name, opts);  // decodes zstd itself, naming DBN's own offsets
    }
    if (compression == Compression::zstd) {
        plain = decompress(bytes, compression, name);
        bytes = plain.bytes();
    }
    // The default symbol is the file's stem, past .gz/.zst (parse_csv).
    return parse_csv({reinterpret_cast<const char*>(bytes.data()), bytes.size()}, name, opts);
}

}  // namespace barstore
