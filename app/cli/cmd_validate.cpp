// zmqrpc validate FILE: load and validate a topology file, list its problems, located.
#include "common.hpp"
#include "topology_file.hpp"

#include <iostream>

namespace cli {

std::string located_line(const std::string& path, const zmqrpc::LocatedError& error) {
    // The place and text quote the file (keys, ids): one line, whatever they hold.
    if (path.empty()) return printable(error.text);  // "no file name given"
    if (error.where == path || error.where.empty()) return printable(path + ": " + error.text);
    return printable(path + ": " + error.where + ": " + error.text);
}

zmqrpc::Topology load_topology_or_fail(const std::string& path) {
    try {
        return zmqrpc::load_topology_file(path);
    } catch (const zmqrpc::TopologyLoadError& e) {
        for (const auto& error : e.errors())
            std::cerr << located_line(path, error) << '\n';
        if (e.errors().empty()) std::cerr << printable(path + ": " + e.what()) << '\n';
        std::cerr.flush();
        throw Failure{kCannotStart, {}};
    }
}

namespace {

std::string plural(std::size_t n, const char* word) {
    return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

}  // namespace

Command add_validate(CLI::App& parent) {
    struct Args {
        std::string file;
        bool json = false;
    };
    auto args = std::make_shared<Args>();
    auto* app = parent.add_subcommand(
        "validate",
        "Check a topology file: load it (a broken file: each error with its place, exit 3), then "
        "list every problem as FILE: error|warning: node 'ID' (PROPERTY): TEXT and a summary "
        "line. Exit 1 when there is an error, 0 otherwise (warnings alone are fine).");
    app->add_option("FILE", args->file, "topology file (.json)")->required();
    app->add_flag("--json", args->json,
                  "print the problems as a JSON array of {severity, node, link, property, text} "
                  "instead");

    return {app, [args]() -> int {
                const zmqrpc::Topology topology = load_topology_or_fail(args->file);
                const auto problems = zmqrpc::validate(topology);
                std::size_t errors = 0, warnings = 0;
                for (const auto& p : problems)
                    (p.severity == zmqrpc::Severity::Error ? errors : warnings)++;
                if (args->json) {
                    // Members in the order of the text form.
                    nlohmann::ordered_json list = nlohmann::ordered_json::array();
                    for (const auto& p : problems) {
                        list.push_back({{"severity", zmqrpc::to_string(p.severity)},
                                        {"node", p.node},
                                        {"link", p.link},
                                        {"property", p.property},
                                        {"text", p.text}});
                    }
                    std::cout << list.dump(2) << std::endl;
                } else {
                    for (const auto& p : problems)
                        std::cout << printable(args->file + ": " + p.str()) << '\n';
                    if (errors > 0) {
                        std::cout << args->file << ": " << plural(errors, "error");
                        if (warnings > 0) std::cout << ", " << plural(warnings, "warning");
                        std::cout << '\n';
                    } else {
                        std::cout << args->file << ": valid ("
                                  << plural(topology.nodes().size(), "node") << ", "
                                  << plural(topology.links().size(), "link") << ")";
                        if (warnings > 0) std::cout << "; " << plural(warnings, "warning");
                        std::cout << '\n';
                    }
                    std::cout.flush();
                }
                return errors > 0 ? kServerError : kOk;
            }};
}

}  // namespace cli
