// core/types.cpp: BarColumns helpers and the symbol rule shared by ingest and the store.
// Invariant guarded: all six columns of a BarColumns always have the same length.
#include "barstore/error.hpp"
#include "barstore/types.hpp"

namespace barstore {

void BarColumns::reserve(std::size_t n) {
    for (auto* c : {&ts, &open, &high, &low, &close, &volume}) c->reserve(n);
}

void BarColumns::clear() noexcept {
    for (auto* c : {&ts, &open, &high, &low, &close, &volume}) c->clear();
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
    auto add = [&](std::vector<std::int64_t>& dst, const std::vector<std::int64_t>& src) {
        dst.insert(dst.end(), src.begin() + static_cast<std::ptrdiff_t>(first),
                   src.begin() + static_cast<std::ptrdiff_t>(last));
    };
    add(ts, other.ts);
    add(open, other.open);
    add(high, other.high);
    add(low, other.low);
    add(close, other.close);
    add(volume, other.volume);
}

void validate_symbol(const std::string& symbol) {
    if (symbol.empty() || symbol.size() > 64)
        throw InvalidInput("symbol must be 1 to 64 bytes (got '" + symbol + "')");
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
        if (!ok) throw InvalidInput("symbol must be printable UTF-8 (got '" + symbol + "')");
        i += len;
    }
}

}  // namespace barstore
