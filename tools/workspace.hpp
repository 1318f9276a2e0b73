// tools/workspace.hpp: the directory a benchmark writes in, and its cleanup at exit (also when a
// figure throws). A --dir the user gives is theirs: only what the benchmark created there goes.
#pragma once
#include <stdlib.h>

#include <filesystem>
#include <iostream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace barstore::tools {

class Workspace {
public:
    /// `dir` empty: a fresh temporary directory named after `tool`, removed at exit unless `keep`.
    Workspace(const std::string& tool, const std::string& dir, bool keep) : tool_(tool), keep_(keep) {
        namespace fs = std::filesystem;
        if (dir.empty()) {
            std::string tmpl = (fs::temp_directory_path() / ("barstore-" + tool + "-XXXXXX")).string();
            if (!::mkdtemp(tmpl.data())) throw std::runtime_error("cannot create a temporary directory");
            dir_ = tmpl;
            owns_dir_ = true;
        } else {
            dir_ = dir;
            owns_dir_ = fs::create_directories(dir_);  // made here: ours to remove
        }
    }
    ~Workspace() {
        std::error_code ec;  // never throw from here; a leftover file is not worth a crash
        if (keep_) {
            std::cerr << tool_ << ": kept " << dir_.string() << std::endl;
        } else if (owns_dir_) {
            std::filesystem::remove_all(dir_, ec);
        } else {
            for (const auto& p : created_) std::filesystem::remove_all(p, ec);
            std::cerr << tool_ << ": left in " << dir_.string() << " what was not made through file()" << std::endl;
        }
    }
    Workspace(const Workspace&) = delete;
    Workspace& operator=(const Workspace&) = delete;

    /// A path in the workspace, removed at exit even from a --dir of the user's.
    std::filesystem::path file(const std::string& name) {
        created_.push_back(dir_ / name);
        return created_.back();
    }
    const std::filesystem::path& dir() const { return dir_; }

private:
    std::string tool_;
    std::filesystem::path dir_;
    bool owns_dir_ = false, keep_;
    std::vector<std::filesystem::path> created_;
};

}  // namespace barstore::tools
