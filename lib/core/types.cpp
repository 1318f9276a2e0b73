// core/types.cpp: BarColumns helpers, the symbol rule shared by ingest and the store, and the
// small value-type functions of types.hpp. Invariant guarded: all six columns of a BarColumns
// always have the same length.
#include "barstore/error.hpp"
#include "barstore/types.hpp"

namespace barstore {

std::string format_timeframe(Duration tf) {
    constexpr std::int64_t kSecond = 1'000'000'000;
    const auto ns = tf.count();
    if (ns <= 0) return std::to_string(ns) + "ns";
    struct Unit { std::int64_t ns; const char* suffix; };
    for (const Unit u : {Unit{7 * 86400 * kSecond, "w"}, Unit{86400 * kSecond, "d"},
                         Unit{3600 * kSecond, "h"}, Unit{60 * kSecond, "m"}, Unit{kSecond, "s"},
                         Unit{1'000'000, "ms"}, Unit{1'000, "us"}, Unit{1, "ns"}}) {
        if (ns % u.ns == 0) return std::to_string(ns / u.ns) + u.suffix;
    }
    return std::to_string(ns) + "ns";
}

bool Session::is_24x7() const noexcept {
    return zone == "UTC" && open == close && open.count() == 0 && weekdays == 0x7F && holidays.empty();
}

void BarColumns::reserve(std::size_t n) {
    for (auto* c : columns()) c->reserve(n);
}

void BarColumns::clear() noexcept {
    for (auto* c : columns()) c->clear();
}

void BarColumns::push_back(const Bar& b) {
    ts.push_back(b.ts.time_since_epoch().count());
    open.push_back(b.open);
    high.push_back(b.high);
    low.push_back(b.low);
    close.push_back(b.close);
    volume.push_back(b.volume);
}

Bar BarColumns::row(std::size_t i) const {
    return Bar{Timestamp{Duration{ts[i]}}, open[i], high[i], low[i], close[i], volume[i]};
}

void BarColumns::append(const BarColumns& other, std::size_t first, std::size_t last) {
    const auto dst = columns();
    const auto src = other.columns();
    for (std::size_t c = 0; c < dst.size(); ++c)
        dst[c]->insert(dst[c]->end(), src[c]->begin() + static_cast<std::ptrdiff_t>(first),
                       src[c]->begin() + static_cast<std::ptrdiff_t>(last));
}

namespace {
// The refused symbol as a message may quote it: bytes other than printable ASCII as \xNN, so a
// symbol from a file or a command line never writes raw binary to a terminal.
std::string quoted(const std::string& symbol) {
    std::string out;
    constexpr char kHex[] = "0123456789abcdef";
    for (const char c : symbol) {
        const auto u = static_cast<unsigned char>(c);
        if (u >= 0x20 && u < 0x7F) out += c;
        else out += std::string{'\\', 'x', kHex[u >> 4], kHex[u & 15]};
    }
    return out;
}
}  // namespace

void validate_symbol(const std::string& symbol) {
    if (symbol.empty() || symbol.size() > 64)
        throw InvalidInput("symbol must be 1 to 64 bytes (got '" + quoted(symbol) + "')");
    // Printable UTF-8 in the strict sense of RFC 3629: shortest form only, no UTF-16 surrogates,
    // nothing past U+10FFFF; and no control characters (C0, DEL, C1), which no terminal prints.
    static constexpr std::uint32_t kMinCodePoint[5] = {0, 0, 0x80, 0x800, 0x10000};
    for (std::size_t i = 0; i < symbol.size();) {
        const auto c = static_cast<unsigned char>(symbol[i]);
        const std::size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
        bool ok = len != 0 && i + len <= symbol.size();
        std::uint32_t cp = len == 1 ? c : len == 2 ? c & 0x1Fu : len == 3 ? c & 0x0Fu : c & 0x07u;
        for (std::size_t k = 1; ok && k < len; ++k) {
            const auto b = static_cast<unsigned char>(symbol[i + k]);
            ok = (b & 0xC0) == 0x80;
            cp = (cp << 6) | (b & 0x3Fu);
        }
        ok = ok && cp >= kMinCodePoint[len] && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF) && cp >= 0x20 &&
             !(cp >= 0x7F && cp <= 0x9F);
        if (!ok) throw InvalidInput("symbol must be printable UTF-8 (got '" + quoted(symbol) + "')");
        i += len;
    }
}

}  // namespace barstore
