// zmqrpc keygen [NAME]: make a CURVE key pair in the keys directory, or print the public key of
// one made before.
#include "common.hpp"

#include <unistd.h>

#include <climits>
#include <iostream>

namespace cli {

namespace {

std::string host_name() {
    char name[HOST_NAME_MAX + 1] = {};
    if (::gethostname(name, sizeof name - 1) != 0 || name[0] == 0) {
        throw Failure{kCannotStart, "cannot read this host's name: give NAME"};
    }
    return name;
}

}  // namespace

Command add_keygen(CLI::App& parent) {
    struct Args {
        std::string name;
        std::string dir;
        bool force = false;
        bool print_public = false;
    };
    auto args = std::make_shared<Args>();
    auto* app = parent.add_subcommand(
        "keygen",
        "Make a CURVE key pair NAME in the keys directory: NAME.key (the public key, mode 0644: "
        "give it to the other side) and NAME.key_secret (both keys, mode 0600: keep it). Prints "
        "the public key on stdout (one line of Z85 text, so that KEY=$(zmqrpc keygen NAME) "
        "works) and the files written on stderr. Refuses to replace an existing pair (exit 3) "
        "unless --force. The files are czmq certificates (pyzmq's zmq.auth.load_certificate "
        "reads them).");
    app->add_option("NAME", args->name,
                    "the key pair's name, a plain file name (default: this host's name)");
    app->add_option("--keys,--dir", args->dir,
                    "the keys directory (default: $ZMQRPC_KEYS, else ~/.config/zmqrpc/keys; "
                    "created with mode 0700)")
        ->type_name("DIR");
    app->add_flag("--force", args->force, "replace an existing key pair NAME");
    app->add_flag("--public", args->print_public,
                  "make nothing: print the public key of the existing key pair NAME");

    return {
        app, [args]() -> int {
            if (args->print_public && args->force) {
                throw Failure{kUsage, "--public makes nothing: it takes no --force"};
            }
            const std::string name = args->name.empty() ? host_name() : args->name;
            const std::filesystem::path dir =
                args->dir.empty() ? zmqrpc::default_keys_dir() : std::filesystem::path(args->dir);
            const auto [public_file, secret_file] = zmqrpc::curve_key_files(dir, name);
            std::error_code ec;
            if (args->print_public) {
                std::string key;
                if (std::filesystem::exists(public_file, ec)) {
                    key = zmqrpc::load_curve_public_file(public_file);
                } else if (std::filesystem::exists(secret_file, ec)) {
                    key = zmqrpc::load_curve_secret_file(secret_file).public_key;
                } else {
                    throw Failure{kCannotStart, "no key pair '" + name + "' in " + dir.string() +
                                                    " (neither " + public_file.filename().string() +
                                                    " nor " + secret_file.filename().string() +
                                                    "); make one with: zmqrpc keygen " + name};
                }
                std::cout << key << std::endl;
                return kOk;
            }
            const zmqrpc::CurveKeyPair keys = zmqrpc::generate_curve_key_pair();
            zmqrpc::write_curve_key_pair(dir, name, keys, args->force);
            std::cout << keys.public_key << std::endl;
            std::cerr << "zmqrpc keygen: wrote " << public_file.string()
                      << " (public key: give it to the other side) and " << secret_file.string()
                      << " (secret key: keep it here)" << std::endl;
            return kOk;
        }};
}

}  // namespace cli
