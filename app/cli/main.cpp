// zmqrpc: the command line of zmqrpc Studio. One executable, one subcommand per job; each
// misuse gives one clear line on stderr and a non-zero exit (codes in common.hpp).
#include "common.hpp"

#include <iostream>

int main(int argc, char** argv) {
    // Before any thread exists, so that every thread inherits the mask and signals are only
    // ever taken by wait_signal() on the main thread.
    cli::block_signals();

    CLI::App app{
        "zmqrpc: RPC, PUB/SUB and proxies over ZeroMQ, wire-compatible with pyzmqrpc.\n"
        "Exit codes: 0 ok, 1 the server answered an error status (validate: the topology has "
        "errors), 2 no answer (timeout, unreachable, credentials refused), 3 cannot start (bad "
        "endpoint, address in use, invalid JSON, a topology that cannot load, a missing or "
        "unsafe key file), 64 command-line usage.",
        "zmqrpc"};
    app.set_version_flag("--version", std::string("zmqrpc ") + zmqrpc::version() + " (libzmq " +
                                          zmqrpc::libzmq_version() + ")");
    app.require_subcommand(1);
    // The subcommand named on the command line, so that CLI11's errors name it as ours do
    // ("zmqrpc call: --req is required"); empty when none is.
    std::string subcommand;
    app.failure_message([&subcommand](const CLI::App*, const CLI::Error& e) {
        return "zmqrpc" + (subcommand.empty() ? std::string() : " " + subcommand) + ": " +
               cli::printable(e.what()) + " (see --help)\n";
    });
    std::vector<cli::Command> commands = {
        cli::add_serve(app),     cli::add_call(app),  cli::add_publish(app),
        cli::add_heartbeat(app), cli::add_snoop(app), cli::add_proxy(app),
        cli::add_validate(app),  cli::add_run(app),   cli::add_keygen(app)};
    // CLI11 reports an unknown subcommand or top-level option as "A subcommand is required";
    // name it instead. The top-level options (--help, --version) take no value, so the first
    // other word is the subcommand.
    for (int i = 1; i < argc; ++i) {
        const std::string word = argv[i];
        if (word == "-h" || word == "--help" || word == "--version") continue;
        if (!word.empty() && word[0] == '-') {
            std::cerr << "zmqrpc: unknown option '" << cli::printable(word) << "' (see --help)"
                      << std::endl;
            return cli::kUsage;
        }
        bool known = false;
        std::string names;
        for (const auto& command : commands) {
            known = known || command.app->get_name() == word;
            names += (names.empty() ? "" : ", ") + command.app->get_name();
        }
        if (!known) {
            std::cerr << "zmqrpc: unknown subcommand '" << cli::printable(word)
                      << "' (expected one of " << names << "; see --help)" << std::endl;
            return cli::kUsage;
        }
        subcommand = word;
        break;
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        app.exit(e);
        return cli::kUsage;
    }
    for (auto& command : commands) {
        if (!command.app->parsed()) continue;
        const std::string name = command.app->get_name();
        // Every message is one line, whatever it quotes (an id from a file, a server's text).
        try {
            return command.run();
        } catch (const cli::Failure& f) {
            if (!f.message.empty())
                std::cerr << "zmqrpc " << name << ": " << cli::printable(f.message) << std::endl;
            return f.code;
        } catch (const zmqrpc::ConfigError& e) {
            // Components name themselves after the subcommand; say it once.
            std::string what = e.what();
            if (what.rfind(name + ": ", 0) == 0) what = what.substr(name.size() + 2);
            std::cerr << "zmqrpc " << name << ": " << cli::printable(what) << std::endl;
            return cli::kCannotStart;
        } catch (const zmqrpc::RpcError& e) {
            std::cerr << "zmqrpc " << name << ": " << cli::printable(e.what()) << std::endl;
            return cli::kNoAnswer;
        } catch (const std::exception& e) {
            std::cerr << "zmqrpc " << name << ": " << cli::printable(e.what()) << std::endl;
            return cli::kCannotStart;
        }
    }
    return cli::kUsage;
}
