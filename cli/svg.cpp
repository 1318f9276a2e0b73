// cli/svg.cpp: the SVG writer of `barstore chart`. Owns well-formedness: every attribute value
// and text is escaped here, every number goes through num(), so no caller can write broken XML.
#include "svg.hpp"

#include <cassert>
#include <cmath>
#include <cstdio>

namespace barstore::cli::svg {

std::string escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&apos;"; break;
            default: out += c;
        }
    }
    return out;
}

std::string num(double v) {
    assert(std::isfinite(v));
    if (!std::isfinite(v)) v = 0;
    char buf[48];
    // Hundredths of a pixel are below what any screen shows; more digits only grow the file.
    std::snprintf(buf, sizeof buf, "%.2f", v);
    std::string s = buf;
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
    if (s == "-0") s = "0";
    return s;
}

Writer::Writer(double width_px, double height_px) {
    out_ = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" +
           num(width_px) + "\" height=\"" + num(height_px) + "\" viewBox=\"0 0 " + num(width_px) + " " +
           num(height_px) + "\">\n";
}

void Writer::start_tag(std::string_view name, Attrs attrs) {
    out_ += '<';
    out_ += name;
    for (const auto& [k, v] : attrs) {
        out_ += ' ';
        out_ += k;
        out_ += "=\"";
        out_ += escape(v);
        out_ += '"';
    }
}

void Writer::empty(std::string_view name, Attrs attrs) {
    start_tag(name, attrs);
    out_ += "/>\n";
}

void Writer::open(std::string_view name, Attrs attrs) {
    start_tag(name, attrs);
    out_ += ">\n";
}

void Writer::close(std::string_view name) {
    out_ += "</";
    out_ += name;
    out_ += ">\n";
}

void Writer::text_element(std::string_view name, Attrs attrs, std::string_view text) {
    start_tag(name, attrs);
    out_ += '>';
    out_ += escape(text);
    out_ += "</";
    out_ += name;
    out_ += ">\n";
}

void Writer::style(std::string_view css) {
    out_ += "<style>";
    out_ += css;
    out_ += "</style>\n";
}

std::string Writer::finish() {
    out_ += "</svg>\n";
    return std::move(out_);
}

}  // namespace barstore::cli::svg
