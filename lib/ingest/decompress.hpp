// ingest/decompress.hpp: gzip and zstd input, told by magic bytes (never by the file name) and
// decoded whole into memory, so the CSV parser, which splits its input across threads, sees
// plain text exactly as from an uncompressed file.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace barstore::ingest_detail {

enum class Compression { none, gzip, zstd };

/// Bytes of unknown final size (a decoded stream, a pipe), in an anonymous mapping grown by
/// mremap: growth neither copies nor touches the bytes again, and huge pages are asked for, so a
/// 1 GB input costs ~500 page faults rather than ~250,000 (on a VM each fault is a trap).
class GrowBuffer {
public:
    GrowBuffer() = default;
    GrowBuffer(GrowBuffer&& other) noexcept;
    GrowBuffer& operator=(GrowBuffer&& other) noexcept;
    ~GrowBuffer();
    /// Room for at least `bytes`; the first size() bytes are kept. Throws std::bad_alloc.
    void reserve(std::size_t bytes);
    char* data() { return data_; }
    std::size_t size() const { return size_; }
    std::size_t capacity() const { return capacity_; }
    void set_size(std::size_t bytes) { size_ = bytes; }  ///< bytes <= capacity(), written by the caller
    std::string_view view() const { return {data_, size_}; }
    std::span<const std::byte> bytes() const { return std::as_bytes(std::span<const char>(data_, size_)); }

private:
    char* data_ = nullptr;
    std::size_t size_ = 0, capacity_ = 0;
};

/// A gzip or zstd stream decoded as its bytes arrive, so that a big compressed file is never
/// held whole (stream ingest); decompress() is this over a buffer.
class StreamDecoder {
public:
    StreamDecoder(Compression c, std::string name);  ///< c: gzip or zstd
    ~StreamDecoder();
    StreamDecoder(const StreamDecoder&) = delete;
    StreamDecoder& operator=(const StreamDecoder&) = delete;

    /// Decodes from in[used..] into out[0, room), moving `used` past the bytes taken; returns the
    /// bytes written. Keep the bytes not taken: the next call must start with them. `last`: no
    /// input follows `in`. `at`: the compressed offset of in[0], for messages. Throws
    /// InvalidInput `NAME: error: REASON at compressed byte N` for corrupt data, or a stream that
    /// ends (`last`, all taken) inside a gzip member or zstd frame.
    std::size_t decode(std::span<const std::byte> in, std::size_t& used, char* out, std::size_t room, bool last,
                       std::uint64_t at);
    /// The input ended where a member or frame did: nothing more will be written.
    bool finished() const { return state_.finished; }

    struct State {
        std::string name;
        std::uint64_t produced = 0;  ///< bytes decoded so far, for messages
        bool finished = false;
    };
    struct Codec;

private:
    State state_;
    std::unique_ptr<Codec> codec_;
};

/// gzip (1f 8b) or a zstd frame (28 b5 2f fd) by the first bytes; anything else none.
Compression sniff_compression(std::span<const std::byte> data);

/// Throws InvalidInput `NAME: error: REASON` for a format barstore does not read (xz, bzip2,
/// zip) rather than parsing its bytes as CSV.
void refuse_archives(std::span<const std::byte> data, const std::string& name);

/// The whole decoded stream (every gzip member or zstd frame, one after another). Throws
/// InvalidInput `NAME: error: REASON at compressed byte N` for corrupt or truncated input, or
/// output past 1024x the input (64 MiB..64 GiB, as for DBN): a likely decompression bomb.
/// Messages describe the bytes, never echo them.
GrowBuffer decompress(std::span<const std::byte> data, Compression c, const std::string& name);

/// Up to `n` first decoded bytes of a zstd stream, fewer (maybe none) if it is short or bad:
/// enough to tell DBN from CSV without decoding the rest.
std::string zstd_head(std::span<const std::byte> data, std::size_t n);

}  // namespace barstore::ingest_detail
