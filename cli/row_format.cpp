// cli/row_format.cpp: the buffered stdout that query's cells go to. Invariant: what is put or
// ended comes out in order, and nothing is written before a flush.
#include "row_format.hpp"

#include <algorithm>
#include <cstring>

namespace barstore::cli {

void OutBuffer::put(std::string_view s) {
    while (!s.empty()) {
        const std::size_t n = std::min(s.size(), kBufferBytes);
        char* p = room(n);
        std::memcpy(p, s.data(), n);
        end(p + n);
        s.remove_prefix(n);
    }
}

void OutBuffer::flush() {
    if (used_ > 0) std::fwrite(buf_, 1, used_, to_);
    used_ = 0;
}

}  // namespace barstore::cli
