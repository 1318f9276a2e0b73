// ingest/parse_file.cpp: read a file (or standard input, `-`), decompress gzip or zstd CSV, and
// hand it to the CSV or DBN decoder: whole (parse_file: a plain file is mapped read-only), or a
// block at a time (stream_file: memory bounded by the block, whatever the file's size).
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
#include "ingest/csv_internal.hpp"
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

namespace {

bool is_dbn(const std::filesystem::path& path, std::span<const std::byte> head, std::span<const std::byte> decoded_head) {
    return path.filename().string().find(".dbn") != std::string::npos || dbn_magic(head) || zstd_skippable(head) ||
           dbn_magic(decoded_head);
}

std::span<const std::byte> bytes_of(const std::string& s) { return std::as_bytes(std::span<const char>(s.data(), s.size())); }

// The bytes of a whole file, told apart and decoded.
std::vector<SeriesBatch> parse_bytes(std::span<const std::byte> bytes, const std::filesystem::path& path,
                                     FileFormat format, const ParseOptions& opts) {
    using namespace ingest_detail;
    const std::string name = input_name(path);
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
        format = is_dbn(path, bytes, bytes_of(head)) ? FileFormat::dbn : FileFormat::csv;
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

// A file or standard input read in pieces, its text decoded as it comes: what stream_file
// parses a block at a time. Memory: one block of text and 1 MiB of input, whatever the size.
class FileText final : public csv_detail::TextSource {
public:
    explicit FileText(const std::filesystem::path& path) : name_(input_name(path)) {
        if (path == "-") {
            fd_ = STDIN_FILENO;
        } else {
            fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
            if (fd_ < 0) throw IoError(name_ + ": error: cannot open: " + std::strerror(errno));
            owned_ = true;
            struct stat st {};
            if (::fstat(fd_, &st) != 0) throw IoError(name_ + ": error: cannot stat: " + std::strerror(errno));
            if (!S_ISREG(st.st_mode)) throw IoError(name_ + ": error: not a regular file");
            total_ = static_cast<std::uint64_t>(st.st_size);
            ::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
        }
        raw_.resize(kRawBytes);
        while (raw_len_ < kHeadBytes && !raw_eof_) read_raw();
    }
    ~FileText() override {
        if (owned_) ::close(fd_);
    }
    FileText(const FileText&) = delete;
    FileText& operator=(const FileText&) = delete;

    /// The first raw bytes (up to 64 KiB), before anything is taken as text: for telling formats apart.
    std::span<const std::byte> head() const { return {raw_.data(), raw_len_}; }
    void decode_as(ingest_detail::Compression c) {
        if (c != ingest_detail::Compression::none) decoder_.emplace(c, name_);
    }
    /// Every raw byte, whole, for a format read whole (DBN).
    ingest_detail::GrowBuffer read_all() {
        while (!raw_eof_) read_raw();
        ingest_detail::GrowBuffer all;
        all.reserve(raw_len_ - raw_pos_);
        if (raw_len_ > raw_pos_) std::memcpy(all.data(), raw_.data() + raw_pos_, raw_len_ - raw_pos_);
        all.set_size(raw_len_ - raw_pos_);
        return all;
    }

    Block next(std::size_t block_bytes, CutFn cut) override {
        // What the last block handed out goes; the rest of the text moves to the front.
        if (start_ > 0) {
            std::memmove(text_.data(), text_.data() + start_, text_.size() - start_);
            text_.set_size(text_.size() - start_);
            start_ = 0;
        }
        std::size_t want = block_bytes;
        for (;;) {
            while (text_.size() < want && !text_eof_) {
                const std::size_t room = std::min<std::size_t>(want - text_.size(), 8u << 20);
                text_.reserve(text_.size() + std::max<std::size_t>(room, 64u << 10));
                const std::size_t n = read_text(text_.data() + text_.size(), text_.capacity() - text_.size());
                if (n == 0) text_eof_ = true;
                text_.set_size(text_.size() + n);
            }
            const std::string_view rest = text_.view();
            const std::size_t k = cut(rest, block_bytes, text_eof_);
            if (k > 0 || text_eof_) {
                start_ = k;
                return {rest.substr(0, k), text_eof_ && k == rest.size()};
            }
            want = text_.size() + std::max<std::size_t>(text_.size(), 1u << 20);  // a line longer than a block
        }
    }
    std::uint64_t done_bytes() const override { return raw_at_ + raw_pos_; }
    std::uint64_t total_bytes() const override { return total_; }

private:
    static constexpr std::size_t kRawBytes = 1u << 20, kHeadBytes = 64u << 10;

    // More raw input after what is kept (raw_[raw_pos_, raw_len_) moves to the front).
    void read_raw() {
        if (raw_pos_ > 0) {
            std::memmove(raw_.data(), raw_.data() + raw_pos_, raw_len_ - raw_pos_);
            raw_at_ += raw_pos_;
            raw_len_ -= raw_pos_;
            raw_pos_ = 0;
        }
        if (raw_len_ == raw_.size()) raw_.resize(raw_.size() * 2);
        const ssize_t n = read_some(raw_.data() + raw_len_, raw_.size() - raw_len_);
        if (n == 0) raw_eof_ = true;
        raw_len_ += static_cast<std::size_t>(n);
    }
    ssize_t read_some(void* dst, std::size_t room) {
        for (;;) {
            const ssize_t n = ::read(fd_, dst, room);
            if (n >= 0) return n;
            if (errno != EINTR) throw IoError(name_ + ": error: cannot read: " + std::strerror(errno));
        }
    }
    // Up to `room` bytes of text; 0 at its end.
    std::size_t read_text(char* dst, std::size_t room) {
        if (!decoder_) {
            if (raw_pos_ < raw_len_) {
                const std::size_t n = std::min(room, raw_len_ - raw_pos_);
                std::memcpy(dst, raw_.data() + raw_pos_, n);
                raw_pos_ += n;
                return n;
            }
            if (raw_eof_) return 0;
            const auto n = static_cast<std::size_t>(read_some(dst, room));  // straight in: no copy
            raw_at_ += n;
            if (n == 0) raw_eof_ = true;
            return n;
        }
        for (;;) {
            const std::size_t n = decoder_->decode(head(), raw_pos_, dst, room, raw_eof_, raw_at_);
            if (n > 0) return n;
            if (decoder_->finished()) return 0;
            if (raw_eof_) throw Error(Errc::internal, name_ + ": the decoder stopped without an error or an end");
            read_raw();
        }
    }

    std::string name_;
    int fd_ = -1;
    bool owned_ = false;
    std::uint64_t total_ = 0;
    std::vector<std::byte> raw_;
    std::size_t raw_pos_ = 0, raw_len_ = 0;  // raw_[raw_pos_, raw_len_): read, not yet taken
    std::uint64_t raw_at_ = 0;               // the input offset of raw_[0]
    bool raw_eof_ = false;
    std::optional<ingest_detail::StreamDecoder> decoder_;
    ingest_detail::GrowBuffer text_;
    std::size_t start_ = 0;  // text_[0, start_) was handed out
    bool text_eof_ = false;
};

}  // namespace

std::vector<SeriesBatch> parse_file(const std::filesystem::path& path, FileFormat format,
                                    const ParseOptions& opts) {
    using namespace ingest_detail;
    if (path == "-") {
        const GrowBuffer piped = read_stdin(input_name(path));
        return parse_bytes(piped.bytes(), path, format, opts);
    }
    const MappedFile file(path);
    return parse_bytes(file.bytes(), path, format, opts);
}

void stream_file(const std::filesystem::path& path, FileFormat format, const ParseOptions& opts, const PieceFn& fn) {
    using namespace ingest_detail;
    const std::string name = input_name(path);
    FileText input(path);
    const auto head = input.head();
    refuse_archives(head, name);
    const Compression compression = sniff_compression(head);
    if (format == FileFormat::auto_detect) {
        // The first decoded bytes tell a compressed DBN from a compressed CSV.
        std::string decoded(compression == Compression::none ? 0 : 4, '\0');
        if (compression != Compression::none) {
            StreamDecoder probe(compression, name);
            std::size_t used = 0, got = 0;
            try {
                got = probe.decode(head, used, decoded.data(), decoded.size(), false, 0);
            } catch (const InvalidInput&) {
                // Reported with the whole stream below.
            }
            decoded.resize(got);
        }
        format = is_dbn(path, head, bytes_of(decoded)) ? FileFormat::dbn : FileFormat::csv;
    }
    if (format == FileFormat::dbn) {
        // DBN is compact (its bars as stored in memory) and decoded whole, as parse_file does.
        const GrowBuffer all = input.read_all();
        for (auto& batch : parse_bytes(all.bytes(), path, FileFormat::dbn, opts)) fn(std::move(batch));
        return;
    }
    input.decode_as(compression);
    csv_detail::Tuning tuning;
    tuning.block_bytes = kStreamBlockBytes;
    csv_detail::stream_csv(input, name, opts, tuning, fn);
}

}  // namespace barstore
