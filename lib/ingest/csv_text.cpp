// ingest/csv_text.cpp: line and field splitting for the CSV parser's cold paths (header, errors),
// and the message format every CSV error uses; the hot row loop never calls in here.
#include "ingest/csv_text.hpp"

#include <cstring>

#include "barstore/error.hpp"

namespace barstore::csv_detail {

namespace {
// Longer offending text is cut: a message stays one readable line.
constexpr std::size_t kMaxGot = 80;
}  // namespace

std::vector<std::string_view> split(std::string_view line, char delim) {
    std::vector<std::string_view> out;
    for (std::size_t start = 0;;) {
        const auto pos = line.find(delim, start);
        out.push_back(line.substr(start, pos == std::string_view::npos ? pos : pos - start));
        if (pos == std::string_view::npos) return out;
        start = pos + 1;
    }
}

std::string_view trim(std::string_view s, std::string_view chars) {
    while (!s.empty() && chars.find(s.front()) != std::string_view::npos) s.remove_prefix(1);
    while (!s.empty() && chars.find(s.back()) != std::string_view::npos) s.remove_suffix(1);
    return s;
}

const char* line_end(const char* p, const char* e) {
    const auto* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(e - p)));
    return nl ? nl : e;
}

std::string_view line_text(const char* p, const char* eol) {
    std::string_view s(p, static_cast<std::size_t>(eol - p));
    if (!s.empty() && s.back() == '\r') s.remove_suffix(1);
    return s;
}

// Valid UTF-8 (symbols, names) is kept; any other byte >= 0x80, as of a compressed or binary
// file read as text, is escaped like a control byte, so a message never writes raw binary.
std::string printable(std::string_view s) {
    std::string out;
    const bool cut = s.size() > kMaxGot;
    if (cut) s = s.substr(0, kMaxGot - 3);
    constexpr char kHex[] = "0123456789abcdef";
    const auto escape = [&](unsigned char u) { out += std::string{'\\', 'x', kHex[u >> 4], kHex[u & 15]}; };
    for (std::size_t i = 0; i < s.size();) {
        const auto u = static_cast<unsigned char>(s[i]);
        if (u >= 0x80) {
            const std::size_t len = (u >> 5) == 0x6 ? 2 : (u >> 4) == 0xE ? 3 : (u >> 3) == 0x1E ? 4 : 0;
            bool ok = len != 0 && i + len <= s.size() && u >= 0xC2 && u <= 0xF4;
            for (std::size_t k = 1; ok && k < len; ++k) ok = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
            if (ok) {
                out.append(s.substr(i, len));
                i += len;
            } else {
                escape(u);
                ++i;
            }
            continue;
        }
        if (u >= 0x20 && u != 0x7F) out += s[i];
        else if (s[i] == '\r') out += "\\r";
        else if (s[i] == '\t') out += "\\t";
        else escape(u);
        ++i;
    }
    return cut ? out + "..." : out;
}

void throw_at(const std::string& name, std::size_t line, const std::string& reason, std::string_view got) {
    throw LineError(name + ":" + std::to_string(line) + ": error: " + reason + " (got '" + printable(got) + "')", line);
}

void throw_arg(const std::string& name, const std::string& reason, std::string_view got) {
    throw InvalidInput(name + ": error: " + reason + " (got '" + printable(got) + "')");
}

}  // namespace barstore::csv_detail
