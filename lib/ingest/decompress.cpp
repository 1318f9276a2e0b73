// ingest/decompress.cpp: gzip (zlib) and zstd streams decoded whole. Guards that a truncated
// or corrupt stream is an error naming the compressed byte where decoding stopped, never a
// shorter input parsed as if complete, and that no message carries raw compressed bytes.
#include "ingest/decompress.hpp"

#include <sys/mman.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <utility>

#include "barstore/error.hpp"

namespace barstore::ingest_detail {

namespace {

// The DBN reader's bound (dbn.cpp): CSV compresses ~5-20:1, so 1024:1 is only a bomb.
constexpr std::uint64_t kMaxRatio = 1024;
constexpr std::uint64_t kMinCapBytes = 64ull << 20;
constexpr std::uint64_t kMaxCapBytes = 64ull << 30;

unsigned byte_at(std::span<const std::byte> b, std::size_t i) { return static_cast<unsigned char>(b[i]); }

bool starts_with(std::span<const std::byte> b, std::initializer_list<unsigned> magic) {
    if (b.size() < magic.size()) return false;
    std::size_t i = 0;
    for (const unsigned m : magic)
        if (byte_at(b, i++) != m) return false;
    return true;
}

[[noreturn]] void fail(const std::string& name, const std::string& reason, std::size_t at) {
    throw InvalidInput(name + ": error: " + reason + " at compressed byte " + std::to_string(at));
}

// Output grows by doubling up to the cap. A size the stream declares (zstd's frame header,
// gzip's ISIZE trailer) only sizes the first buffer, never past the cap: a lie costs a regrow
// or the bomb error, and the truth saves the regrows.
class Output {
public:
    Output(std::size_t input_bytes, std::uint64_t declared_bytes, const std::string& name)
        : cap_(std::clamp<std::uint64_t>(input_bytes * kMaxRatio, kMinCapBytes, kMaxCapBytes)), name_(name) {
        const std::uint64_t guess = declared_bytes ? declared_bytes + (64u << 10) : std::max<std::uint64_t>(input_bytes * 8, 64u << 10);
        out_.reserve(std::min<std::uint64_t>(cap_, guess));
    }
    // Room for more output; `at` is the compressed position, for the message.
    void grow_if_full(std::size_t at) {
        if (produced < out_.capacity()) return;
        if (out_.capacity() >= cap_)
            fail(name_, "decompresses to more than " + std::to_string(cap_) +
                            " bytes (the limit: 1024x the input, 64 MiB to 64 GiB); refusing a likely decompression bomb",
                 at);
        out_.reserve(std::min<std::uint64_t>(cap_, out_.capacity() * 2));
    }
    char* next() { return out_.data() + produced; }
    std::size_t room() const { return out_.capacity() - produced; }
    GrowBuffer take() {
        out_.set_size(produced);
        return std::move(out_);
    }
    std::size_t produced = 0;

private:
    std::uint64_t cap_;
    const std::string& name_;
    GrowBuffer out_;
};

}  // namespace

// ---- StreamDecoder ----------------------------------------------------------------------

struct StreamDecoder::Codec {
    virtual ~Codec() = default;
    // As StreamDecoder::decode; `d`: the name, bytes produced, and whether the stream finished.
    virtual std::size_t decode(StreamDecoder::State& d, std::span<const std::byte> in, std::size_t& used, char* out,
                               std::size_t room, bool last, std::uint64_t at) = 0;
};

namespace {

class Gunzip final : public StreamDecoder::Codec {
public:
    Gunzip() {
        // 16 + MAX_WBITS: gzip wrapper only (a raw zlib stream has no gzip magic, so never gets here).
        if (inflateInit2(&z_, 16 + MAX_WBITS) != Z_OK) throw std::bad_alloc();
    }
    ~Gunzip() override { inflateEnd(&z_); }

    std::size_t decode(StreamDecoder::State& d, std::span<const std::byte> in, std::size_t& used, char* out, std::size_t room,
                       bool last, std::uint64_t at) override {
        std::size_t written = 0;
        while (room > 0) {
            if (between_) {
                if (used == in.size()) {
                    d.finished = last;
                    break;
                }
                // `cat a.gz b.gz` is a valid gzip file of two members; anything else after one is not.
                if (in.size() - used < 2 && !last) break;
                if (!starts_with(in.subspan(used), {0x1f, 0x8b}))
                    fail(d.name, "data after the end of the gzip stream is not another gzip member", at + used);
                if (inflateReset(&z_) != Z_OK) throw Error(Errc::internal, "zlib inflateReset failed");
                between_ = false;
            }
            // zlib counts in uInt: feed and drain at most 1 GiB per call.
            constexpr std::size_t kStep = 1u << 30;
            z_.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(in.data() + used));
            z_.avail_in = static_cast<uInt>(std::min(in.size() - used, kStep));
            z_.next_out = reinterpret_cast<Bytef*>(out);
            z_.avail_out = static_cast<uInt>(std::min(room, kStep));
            const uInt in_before = z_.avail_in, out_before = z_.avail_out;
            const int ret = inflate(&z_, Z_NO_FLUSH);
            const std::size_t took = in_before - z_.avail_in, gave = out_before - z_.avail_out;
            used += took;
            out += gave;
            room -= gave;
            written += gave;
            d.produced += gave;
            if (ret == Z_STREAM_END) {
                between_ = true;
                continue;
            }
            if (ret == Z_DATA_ERROR)
                fail(d.name, std::string("corrupt gzip data (zlib: ") + (z_.msg ? z_.msg : "invalid data") + ")", at + used);
            if (ret == Z_MEM_ERROR) throw std::bad_alloc();
            if (ret != Z_OK && ret != Z_BUF_ERROR)
                fail(d.name, "gzip decoding failed (zlib error " + std::to_string(ret) + ")", at + used);
            if (took == 0 && gave == 0) {
                // No progress with the input all eaten: the stream ends mid-member, or more is to come.
                if (used == in.size() && last)
                    fail(d.name, "truncated gzip stream: the data ends inside a member (" + std::to_string(d.produced) +
                                      " bytes decoded)", at + used);
                break;
            }
        }
        return written;
    }

private:
    z_stream z_{};
    bool between_ = false;  // a member ended: the next bytes start another, or the input ends
};

class Unzstd final : public StreamDecoder::Codec {
public:
    Unzstd() : dctx_(ZSTD_createDCtx(), &ZSTD_freeDCtx) {
        if (!dctx_) throw std::bad_alloc();
        // zstd's default streaming window limit (128 MiB), as for DBN.
        if (ZSTD_isError(ZSTD_DCtx_setParameter(dctx_.get(), ZSTD_d_windowLogMax, 27)))
            throw Error(Errc::internal, "zstd refused windowLogMax");
    }

    std::size_t decode(StreamDecoder::State& d, std::span<const std::byte> in, std::size_t& used, char* out, std::size_t room,
                       bool last, std::uint64_t at) override {
        ZSTD_inBuffer ib{in.data(), in.size(), used};
        ZSTD_outBuffer ob{out, room, 0};
        while (ob.pos < ob.size) {
            const std::size_t before = ib.pos, before_out = ob.pos;
            const std::size_t ret = ZSTD_decompressStream(dctx_.get(), &ob, &ib);
            d.produced += ob.pos - before_out;
            if (ZSTD_isError(ret)) fail(d.name, std::string("corrupt zstd data (") + ZSTD_getErrorName(ret) + ")", at + before);
            // A call with nothing to do answers for a next frame that may never come: not news.
            if (ib.pos != before || ob.pos != before_out) frame_open_ = ret != 0;
            if (ib.pos == ib.size && ob.pos < ob.size) {
                // The input is eaten with room left: the end of a frame and of the input, or more to come.
                if (!frame_open_) {
                    d.finished = last;
                } else if (last) {
                    fail(d.name, "truncated zstd stream: the data ends inside a frame (" + std::to_string(d.produced) +
                                      " bytes decoded)", at + ib.pos);
                }
                break;
            }
        }
        used = ib.pos;
        return ob.pos;
    }

private:
    std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)> dctx_;
    bool frame_open_ = true;
};

}  // namespace

StreamDecoder::StreamDecoder(Compression c, std::string name) : state_{std::move(name)} {
    if (c == Compression::gzip) codec_ = std::make_unique<Gunzip>();
    else if (c == Compression::zstd) codec_ = std::make_unique<Unzstd>();
    else throw Error(Errc::internal, "StreamDecoder of plain data");
}
StreamDecoder::~StreamDecoder() = default;

std::size_t StreamDecoder::decode(std::span<const std::byte> in, std::size_t& used, char* out, std::size_t room,
                                  bool last, std::uint64_t at) {
    return codec_->decode(state_, in, used, out, room, last, at);
}

namespace {

// The whole stream, decoded into one buffer grown by Output.
GrowBuffer decode_whole(std::span<const std::byte> src, Compression c, std::uint64_t declared, const std::string& name) {
    StreamDecoder d(c, name);
    Output out(src.size(), declared, name);
    std::size_t used = 0;
    while (!d.finished()) {
        out.grow_if_full(used);
        const std::size_t n = d.decode(src, used, out.next(), out.room(), true, 0);
        out.produced += n;
        if (n == 0 && out.room() > 0 && !d.finished())
            throw Error(Errc::internal, name + ": the decoder stopped without an error or an end");
    }
    return out.take();
}

GrowBuffer gunzip(std::span<const std::byte> src, const std::string& name) {
    // ISIZE, the last 4 bytes, is the (last member's) size mod 2^32: a hint, right for one member under 4 GiB.
    std::uint64_t isize = 0;
    if (src.size() >= 18)
        for (std::size_t i = 0; i < 4; ++i) isize |= std::uint64_t{byte_at(src, src.size() - 4 + i)} << (8 * i);
    return decode_whole(src, Compression::gzip, isize, name);
}

GrowBuffer unzstd(std::span<const std::byte> src, const std::string& name) {
    const auto declared = ZSTD_getFrameContentSize(src.data(), src.size());
    return decode_whole(src, Compression::zstd,
                        declared == ZSTD_CONTENTSIZE_UNKNOWN || declared == ZSTD_CONTENTSIZE_ERROR ? 0 : declared, name);
}

}  // namespace

GrowBuffer::GrowBuffer(GrowBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)),
      capacity_(std::exchange(other.capacity_, 0)) {}

GrowBuffer& GrowBuffer::operator=(GrowBuffer&& other) noexcept {
    if (this != &other) {
        this->~GrowBuffer();
        data_ = std::exchange(other.data_, nullptr);
        size_ = std::exchange(other.size_, 0);
        capacity_ = std::exchange(other.capacity_, 0);
    }
    return *this;
}

GrowBuffer::~GrowBuffer() {
    if (data_) ::munmap(data_, capacity_);
}

void GrowBuffer::reserve(std::size_t bytes) {
    if (bytes <= capacity_) return;  // also bytes == 0: mmap of 0 bytes is an error
    constexpr std::size_t kPage = 4096;
    const std::size_t want = (bytes + kPage - 1) / kPage * kPage;
    void* p = data_ ? ::mremap(data_, capacity_, want, MREMAP_MAYMOVE)
                    : ::mmap(nullptr, want, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    data_ = static_cast<char*>(p);
    capacity_ = want;
    ::madvise(p, want, MADV_HUGEPAGE);  // a hint: refused where THP is off, which is fine
}

Compression sniff_compression(std::span<const std::byte> data) {
    if (starts_with(data, {0x1f, 0x8b})) return Compression::gzip;
    if (starts_with(data, {0x28, 0xb5, 0x2f, 0xfd})) return Compression::zstd;
    return Compression::none;
}

void refuse_archives(std::span<const std::byte> data, const std::string& name) {
    const char* what = starts_with(data, {0xfd, '7', 'z', 'X', 'Z', 0x00}) ? "xz"
                     : starts_with(data, {'B', 'Z', 'h'})                  ? "bzip2"
                     : starts_with(data, {'P', 'K', 0x03, 0x04})           ? "zip"
                                                                           : nullptr;
    if (what)
        throw InvalidInput(name + ": error: " + what +
                           "-compressed data is not read (gzip and zstd are): decompress it first, or pipe it in "
                           "with `-` as the file");
}

GrowBuffer decompress(std::span<const std::byte> data, Compression c, const std::string& name) {
    switch (c) {
        case Compression::gzip: return gunzip(data, name);
        case Compression::zstd: return unzstd(data, name);
        case Compression::none: break;
    }
    GrowBuffer copy;
    copy.reserve(data.size());
    if (!data.empty()) std::memcpy(copy.data(), data.data(), data.size());
    copy.set_size(data.size());
    return copy;
}

std::string zstd_head(std::span<const std::byte> data, std::size_t n) {
    std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)> dctx(ZSTD_createDCtx(), &ZSTD_freeDCtx);
    if (!dctx) throw std::bad_alloc();
    std::string head(n, '\0');
    ZSTD_inBuffer in{data.data(), data.size(), 0};
    ZSTD_outBuffer ob{head.data(), n, 0};
    while (ob.pos < n && in.pos < in.size) {
        const std::size_t before = in.pos, out_before = ob.pos;
        const std::size_t ret = ZSTD_decompressStream(dctx.get(), &ob, &in);
        if (ZSTD_isError(ret) || ret == 0 || (in.pos == before && ob.pos == out_before)) break;
    }
    head.resize(ob.pos);
    return head;
}

}  // namespace barstore::ingest_detail
