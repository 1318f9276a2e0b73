// cli/svg.hpp: a small SVG writer for `barstore chart`: elements with escaped attributes and text,
// numbers with limited precision. Self-contained output (styles inline), no dependency.
#pragma once
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace barstore::cli::svg {

/// Text or an attribute value with &, <, >, " and ' escaped.
std::string escape(std::string_view text);

/// A coordinate: at most 2 decimals, trailing zeros dropped, never "-0", "nan" or "inf" (those are
/// our bug; they are written as 0 so the file stays well-formed, and asserted in debug builds).
std::string num(double v);

using Attrs = std::initializer_list<std::pair<std::string_view, std::string>>;

class Writer {
public:
    Writer(double width_px, double height_px);
    /// <name attrs/>
    void empty(std::string_view name, Attrs attrs);
    /// <name attrs>
    void open(std::string_view name, Attrs attrs = {});
    void close(std::string_view name);
    /// <name attrs>escaped text</name>
    void text_element(std::string_view name, Attrs attrs, std::string_view text);
    /// A <style> element; CSS is written as given (ours, never user text).
    void style(std::string_view css);
    /// The document, closed with </svg>. The writer is spent afterwards.
    std::string finish();

private:
    void start_tag(std::string_view name, Attrs attrs);
    std::string out_;
};

}  // namespace barstore::cli::svg
