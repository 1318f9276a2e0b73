// barstore/error.hpp: the exception hierarchy, classified by what the caller does next.
#pragma once
#include <stdexcept>
#include <string>

namespace barstore {

/// What the caller can do about an error; the CLI maps each to an exit code.
enum class Errc {
    invalid_input = 1,  ///< fix the input or the call (CLI exit 2)
    not_found,          ///< ask for something that exists (CLI exit 2)
    corrupt_data,       ///< a stored or decoded byte is wrong; restore or re-ingest (CLI exit 1)
    storage_full,       ///< free space or raise the map size (CLI exit 1)
    io,                 ///< the OS or LMDB refused an operation (CLI exit 1)
    internal,           ///< a bug in barstore, or a dependency refusing what cannot fail; thrown as a
                        ///< plain Error (CLI exit 1)
};

class Error : public std::runtime_error {
public:
    Error(Errc code, const std::string& what) : std::runtime_error(what), code_(code) {}
    Errc code() const noexcept { return code_; }

private:
    Errc code_;
};

/// Bad input: a malformed file, a bar that breaks an invariant, a bad argument.
/// Parsers build the message as `FILE:LINE: error: REASON (got 'TEXT')`.
class InvalidInput : public Error {
public:
    explicit InvalidInput(const std::string& what) : Error(Errc::invalid_input, what) {}
};
class NotFound : public Error {
public:
    explicit NotFound(const std::string& what) : Error(Errc::not_found, what) {}
};
class CorruptData : public Error {
public:
    explicit CorruptData(const std::string& what) : Error(Errc::corrupt_data, what) {}
};
class StorageFull : public Error {
public:
    explicit StorageFull(const std::string& what) : Error(Errc::storage_full, what) {}
};
class IoError : public Error {
public:
    explicit IoError(const std::string& what) : Error(Errc::io, what) {}
};

}  // namespace barstore
