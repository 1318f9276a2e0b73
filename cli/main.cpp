// cli/main.cpp: the barstore command. Owns output and exit codes: 0 ok, 1 store or I/O error
// (corruption included), 2 bad input or usage. Each subcommand is a cmd_<name>.cpp; what they
// share is cli.cpp; everything else is in libbarstore.
#include <iostream>
#include <string>

#include "cli.hpp"

int main(int argc, char** argv) {
    using namespace barstore;
    // Named here, not from argv[0], so that every usage line and docs/cli.md say "barstore".
    CLI::App app{"barstore: a compressed on-disk store of OHLCV bars", "barstore"};
    app.require_subcommand(1);
    // What a bug report needs: ours, the on-disk format's, and the libraries' that shape answers.
    app.set_version_flag("--version", [] {
        const auto v = version_info();
        return "barstore " + v.barstore + "\non-disk format " + std::to_string(v.format_version) + "\nlmdb " + v.lmdb +
               "\nzstd " + v.zstd + "\ntzdata " + v.tzdata;
    }, "Print the versions of barstore, its on-disk format, LMDB, zstd and tzdata, and exit");
    cli::setup_ingest(app);
    cli::setup_query(app);
    cli::setup_ls(app);
    cli::setup_info(app);
    cli::setup_verify(app);
    cli::setup_session(app);
    cli::setup_replay(app);
    cli::setup_stats(app);
    cli::setup_rm(app);
    cli::setup_compact(app);
    cli::setup_snapshot(app);
    cli::setup_prewarm(app);
    cli::setup_chart(app);
    // Set after the subcommands: CLI11 copies a parent's footer into subcommands made later.
    app.footer("BARSTORE_DB, when set, is the default --db of every command.\n"
               "'barstore COMMAND --help' describes a command and ends with examples; docs/cli.md describes them all.");
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        // No subcommand was reached: CLI11 would only say "A subcommand is required".
        if (app.get_subcommands().empty()) return cli::usage_error(app, argc, argv);
        app.exit(e);
        return cli::kBadInput;
    } catch (const cli::ExitWith& e) {
        return e.code;
    } catch (const Error& e) {
        std::cerr << e.what() << '\n';
        switch (e.code()) {
            case Errc::invalid_input:
            case Errc::not_found: return cli::kBadInput;
            default: return cli::kStoreError;
        }
    } catch (const std::exception& e) {
        std::cerr << "barstore: internal error: " << e.what() << '\n';
        return cli::kStoreError;
    }
    return cli::kOk;
}
