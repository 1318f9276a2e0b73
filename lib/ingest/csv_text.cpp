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

std::string printable(std::string_view s) {
    std::string out;
    const bool cut = s.size() > kMaxGot;
    if (cut) s = s.substr(0, kMaxGot - 3);
    for (const char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (u >= 0x20 && u != 0x7F) {
            out += c;
        } else {
            constexpr char kHex[] = "0123456789abcdef";
            out += c == '\r' ? "\\r" : c == '\t' ? "\\t" : std::string{'\\', 'x', kHex[u >> 4], kHex[u & 15]};
        }
    }
    return cut ? out + "..." : out;
}

void throw_at(const std::string& name, std::size_t line, const std::string& reason, std::string_view got) {
    throw InvalidInput(name + ":" + std::to_string(line) + ": error: " + reason + " (got '" + printable(got) + "')");
}

void throw_arg(const std::string& name, const std::string& reason, std::string_view got) {
    throw InvalidInput(name + ": error: " + reason + " (got '" + printable(got) + "')");
}

}  // namespace barstore::csv_detail
