// ingest/csv_number.cpp: the cold side of CSV number fields: naming what is wrong with one that
// failed, through the same exact-decimal core the fast path falls back to.
#include "ingest/csv_number.hpp"

#include "ingest/csv_text.hpp"

namespace barstore::csv_detail {

std::string diagnose_number(std::string_view field, const char* what) {
    auto t = trim(field);
    if (t.size() >= 2 && t.front() == '"' && t.back() == '"') t = trim(t.substr(1, t.size() - 2));
    const std::string w = what;
    if (t.empty()) return w + " is empty";
    Num n;
    switch (decimal_core::parse_exact(t, kNumberRules, n)) {
        case decimal_core::Status::syntax: return w + " is not a decimal number";
        case decimal_core::Status::decimals:
            return w + " has more than " + std::to_string(kMaxDecimals) + " decimals";
        case decimal_core::Status::range: return w + " does not fit in a 64-bit integer";
        case decimal_core::Status::ok: break;
    }
    return w + " is malformed";
}

}  // namespace barstore::csv_detail
