// The topology file format (canonical JSON text, loading with located errors) and atomic saving.
//
// Property values are kept as nlohmann::json, whose objects sort their keys: a sampler's
// "parameters" object (or a credentials reference) is therefore written with its keys sorted.
// The canonical text is the sorted one, so saving what was loaded still gives the same bytes.
#include "zmqrpc/topology.hpp"

#include "zmqrpc/protocol.hpp"

#include "topology_internal.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <utility>

namespace zmqrpc {

using detail::line_column;
using detail::parse_error_text;
using detail::read_file;
// Files (topologies, credentials) are nlohmann::json, members sorted by key; zmqrpc::json is
// the ordered type of messages.
using njson = nlohmann::json;
using topology_detail::format_number;
using topology_detail::json_type_name;
using topology_detail::quote;

namespace {

std::string join(const std::vector<std::string>& parts, std::string_view separator) {
    std::string out;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        if (i > 0) out += separator;
        out += parts[i];
    }
    return out;
}

std::string load_error_message(const std::vector<LocatedError>& errors, const std::string& file) {
    std::vector<std::string> lines;
    for (const LocatedError& e : errors)
        lines.push_back(file.empty() ? e.str() : file + ": " + e.str());
    return join(lines, "\n");
}

std::string known_text(std::initializer_list<const char*> keys) {
    std::string out;
    for (const char* k : keys)
        out += (out.empty() ? "" : ", ") + std::string(k);
    return out;
}

// Collects located errors while walking a document.
class Loader {
  public:
    explicit Loader(std::vector<LocatedError>& errors) : errors_(errors) {}

    void error(std::string where, std::string text) {
        errors_.push_back({std::move(where), std::move(text)});
    }

    // Reports keys of `object` not in `known` (each at path.key).
    void unknown_keys(const njson& object, const std::string& path,
                      std::initializer_list<const char*> known) {
        for (const auto& [key, value] : object.items()) {
            bool found = false;
            for (const char* k : known)
                found = found || key == k;
            if (!found) {
                error(path.empty() ? key : path + "." + key,
                      "unknown key '" + key + "' (known: " + known_text(known) + ")");
            }
        }
    }

    // An optional string member: its value, or "" when absent (or wrong, reported).
    std::string string_member(const njson& object, const char* key, const std::string& path) {
        auto it = object.find(key);
        if (it == object.end()) return {};
        if (!it->is_string()) {
            error(member_path(path, key), "expected a string, got " + json_type_name(*it));
            return {};
        }
        return it->get<std::string>();
    }

    static std::string member_path(const std::string& path, const char* key) {
        return path.empty() ? std::string(key) : path + "." + key;
    }

  private:
    std::vector<LocatedError>& errors_;
};

struct PortAt {
    std::string node;
    std::string port;
    bool ok = false;
};

PortAt split_port(const njson& value) {
    if (!value.is_string()) return {};
    const auto& text = value.get_ref<const std::string&>();
    const auto dot = text.find('.');
    if (dot == std::string::npos || dot == 0 || dot + 1 == text.size() ||
        text.find('.', dot + 1) != std::string::npos) {
        return {};
    }
    return {text.substr(0, dot), text.substr(dot + 1), true};
}

// A host's runner: {"control", "metrics", "server_key", "security"}, all optional here
// (validate() says which combinations cannot work). A literal secret is refused as in a node's
// properties.
Runner load_runner(Loader& loader, const njson& value, const std::string& path) {
    Runner runner;
    if (!value.is_object()) {
        loader.error(path, "expected an object, got " + json_type_name(value));
        return runner;
    }
    loader.unknown_keys(value, path, {"control", "metrics", "server_key", "security"});
    runner.control = loader.string_member(value, "control", path);
    runner.metrics = loader.string_member(value, "metrics", path);
    runner.server_key = loader.string_member(value, "server_key", path);
    if (auto security = value.find("security"); security != value.end()) {
        try {
            runner.security = SecurityRef::from_json(*security);
        } catch (const std::invalid_argument& e) {
            loader.error(path + ".security", e.what());
        }
    }
    return runner;
}

// The runner member of a host line, or "" for a host without one.
std::string runner_text(const Runner& runner) {
    std::vector<std::string> members;
    if (!runner.control.empty()) members.push_back("\"control\": " + quote(runner.control));
    if (!runner.metrics.empty()) members.push_back("\"metrics\": " + quote(runner.metrics));
    if (!runner.server_key.empty()) {
        members.push_back("\"server_key\": " + quote(runner.server_key));
    }
    if (!runner.security.none()) {
        members.push_back("\"security\": " + runner.security.to_json().dump(
                                                 -1, ' ', false, njson::error_handler_t::replace));
    }
    if (members.empty()) return {};
    return ", \"runner\": {" + join(members, ", ") + "}";
}

void load_hosts(Loader& loader, const njson& hosts, Topology& topology) {
    if (!hosts.is_array()) {
        loader.error("hosts", "expected an array, got " + json_type_name(hosts));
        return;
    }
    std::vector<Host> list;
    std::map<std::string, std::size_t> seen;
    for (std::size_t i = 0; i < hosts.size(); ++i) {
        const std::string path = "hosts[" + std::to_string(i) + "]";
        const njson& h = hosts[i];
        if (!h.is_object()) {
            loader.error(path, "expected an object, got " + json_type_name(h));
            continue;
        }
        loader.unknown_keys(h, path, {"name", "address", "runner"});
        Host host;
        host.name = loader.string_member(h, "name", path);
        host.address = loader.string_member(h, "address", path);
        if (auto runner = h.find("runner"); runner != h.end()) {
            host.runner = load_runner(loader, *runner, path + ".runner");
        }
        if (!h.contains("name")) {
            loader.error(path + ".name", "missing");
            continue;
        }
        if (host.name.empty()) {
            if (h["name"].is_string()) loader.error(path + ".name", "a host needs a name");
            continue;
        }
        if (auto it = seen.find(host.name); it != seen.end()) {
            loader.error(path + ".name", "duplicate host '" + host.name + "' (also hosts[" +
                                             std::to_string(it->second) + "])");
            continue;
        }
        seen.emplace(host.name, i);
        list.push_back(std::move(host));
    }
    topology.set_hosts(std::move(list));
}

void load_nodes(Loader& loader, const njson& nodes, Topology& topology,
                std::map<std::string, std::size_t>& seen, std::vector<std::string>& broken) {
    if (!nodes.is_array()) {
        loader.error("nodes", "expected an array, got " + json_type_name(nodes));
        return;
    }
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        const std::string path = "nodes[" + std::to_string(i) + "]";
        const njson& n = nodes[i];
        if (!n.is_object()) {
            loader.error(path, "expected an object, got " + json_type_name(n));
            continue;
        }
        loader.unknown_keys(n, path, {"id", "kind", "name", "host", "position", "properties"});
        Node node;
        // id
        auto id = n.find("id");
        if (id == n.end()) {
            loader.error(path + ".id", "missing");
        } else if (!id->is_string()) {
            loader.error(path + ".id", "expected a string, got " + json_type_name(*id));
        } else {
            node.id = id->get<std::string>();
            if (!topology_detail::valid_id(node.id)) {
                loader.error(path + ".id", topology_detail::invalid_id_text("node", node.id));
                broken.push_back(node.id);  // its links are not reported again
                node.id.clear();
            } else if (auto it = seen.find(node.id); it != seen.end()) {
                loader.error(path + ".id", "duplicate id '" + node.id + "' (also nodes[" +
                                               std::to_string(it->second) + "])");
                node.id.clear();  // links to this id refer to the first node
            } else {
                seen.emplace(node.id, i);
            }
        }
        // kind
        auto kind = n.find("kind");
        bool kind_ok = false;
        if (kind == n.end()) {
            loader.error(path + ".kind",
                         "missing (known: " + topology_detail::known_kinds_text() + ")");
        } else if (!kind->is_string()) {
            loader.error(path + ".kind", "expected a string, got " + json_type_name(*kind));
        } else if (auto k = node_kind_from_string(kind->get_ref<const std::string&>())) {
            node.kind = *k;
            kind_ok = true;
        } else {
            loader.error(path + ".kind", "unknown kind '" + kind->get<std::string>() +
                                             "' (known: " + topology_detail::known_kinds_text() +
                                             ")");
        }
        if (!kind_ok) {
            // Links to a node of unknown kind cannot be checked; they are not reported again.
            if (!node.id.empty()) broken.push_back(node.id);
        }
        node.name = loader.string_member(n, "name", path);
        node.host = loader.string_member(n, "host", path);
        if (auto position = n.find("position"); position != n.end()) {
            const njson& p = *position;
            if (p.is_array() && p.size() == 2 && p[0].is_number() && p[1].is_number() &&
                std::isfinite(p[0].get<double>()) && std::isfinite(p[1].get<double>())) {
                node.position = {p[0].get<double>(), p[1].get<double>()};
            } else {
                loader.error(path + ".position", "expected [x, y] numbers");
            }
        }
        if (auto properties = n.find("properties"); properties != n.end()) {
            if (!properties->is_object()) {
                loader.error(path + ".properties",
                             "expected an object, got " + json_type_name(*properties));
            } else if (kind_ok) {
                for (const auto& [key, value] : properties->items()) {
                    const std::string where = path + ".properties." + key;
                    const PropertySpec* s = find_property_spec(node.kind, key);
                    if (s == nullptr) {
                        loader.error(where, topology_detail::unknown_property_text(node.kind, key));
                    } else if (auto problem = topology_detail::property_type_problem(*s, value)) {
                        loader.error(where, *problem);
                    } else if (!value.is_null()) {
                        node.properties[key] = value;
                    }
                }
            }
        }
        // A node with a bad property is still added (without it), so its links are checked.
        if (node.id.empty() || !kind_ok) continue;
        try {
            topology.add_node(std::move(node));
        } catch (const TopologyError& e) {
            loader.error(path, e.what());
        }
    }
}

void load_links(Loader& loader, const njson& links, Topology& topology,
                const std::vector<std::string>& broken) {
    if (!links.is_array()) {
        loader.error("links", "expected an array, got " + json_type_name(links));
        return;
    }
    std::map<std::string, std::size_t> seen;
    auto is_broken = [&](const std::string& id) {
        return std::find(broken.begin(), broken.end(), id) != broken.end();
    };
    for (std::size_t i = 0; i < links.size(); ++i) {
        const std::string path = "links[" + std::to_string(i) + "]";
        const njson& l = links[i];
        if (!l.is_object()) {
            loader.error(path, "expected an object, got " + json_type_name(l));
            continue;
        }
        loader.unknown_keys(l, path, {"id", "from", "to", "heartbeat_timeout"});
        Link link;
        bool ok = true;
        auto id = l.find("id");
        if (id == l.end()) {
            loader.error(path + ".id", "missing");
            ok = false;
        } else if (!id->is_string()) {
            loader.error(path + ".id", "expected a string, got " + json_type_name(*id));
            ok = false;
        } else {
            link.id = id->get<std::string>();
            if (!topology_detail::valid_id(link.id)) {
                loader.error(path + ".id", topology_detail::invalid_id_text("link", link.id));
                ok = false;
            } else if (auto it = seen.find(link.id); it != seen.end()) {
                loader.error(path + ".id", "duplicate id '" + link.id + "' (also links[" +
                                               std::to_string(it->second) + "])");
                ok = false;
            } else {
                seen.emplace(link.id, i);
            }
        }
        bool ends_ok = true;
        bool ends_broken = false;
        auto end = [&](const char* key, PortRef& ref) {
            const std::string where = path + "." + key;
            auto it = l.find(key);
            if (it == l.end()) {
                loader.error(where, "missing (expected \"node.port\")");
                ends_ok = false;
                return;
            }
            const PortAt at = split_port(*it);
            if (!at.ok) {
                loader.error(where, "expected \"node.port\", got " +
                                        (it->is_string() ? quote(it->get<std::string>())
                                                         : json_type_name(*it)));
                ends_ok = false;
                return;
            }
            ref = {at.node, at.port};
            if (is_broken(at.node)) {
                ends_broken = true;
                return;
            }
            const Node* node = topology.find_node(at.node);
            if (node == nullptr) {
                loader.error(where, "no node '" + at.node + "'");
                ends_ok = false;
                return;
            }
            const auto ports = port_specs(node->kind, node->properties);
            if (topology_detail::find_port(ports, at.port) == nullptr) {
                loader.error(where, "node '" + at.node + "' has no port '" + at.port +
                                        "' (its ports: " + topology_detail::ports_text(ports) +
                                        ")");
                ends_ok = false;
            }
        };
        end("from", link.from);
        end("to", link.to);
        if (ends_ok && !ends_broken) {
            if (auto problem = topology.can_link(link.from, link.to)) {
                loader.error(path, *problem);
                ends_ok = false;
            }
        }
        if (auto timeout = l.find("heartbeat_timeout"); timeout != l.end()) {
            const std::string where = path + ".heartbeat_timeout";
            if (!timeout->is_number()) {
                loader.error(where, "expected a number, got " + json_type_name(*timeout));
                ok = false;
            } else {
                const double seconds = timeout->get<double>();
                if (!std::isfinite(seconds) || seconds < 0) {
                    loader.error(where, "must not be negative");
                    ok = false;
                } else if (seconds > 0 && ends_ok && !ends_broken) {
                    const Node* from = topology.find_node(link.from.node);
                    const auto ports = port_specs(from->kind, from->properties);
                    const PortSpec* p = topology_detail::find_port(ports, link.from.port);
                    if (p != nullptr && p->socket == SocketType::Req) {
                        loader.error(where,
                                     "a heartbeat timeout applies to PUB->SUB links only, not "
                                     "REQ->REP");
                        ok = false;
                    }
                }
                link.heartbeat_timeout = seconds;
            }
        }
        if (!ok || !ends_ok || ends_broken) continue;
        try {
            topology.add_link(std::move(link));
        } catch (const TopologyError& e) {
            loader.error(path, e.what());
        }
    }
}

}  // namespace

TopologyLoadError::TopologyLoadError(std::vector<LocatedError> errors, std::string file)
    : ConfigError(load_error_message(errors, file)), errors_(std::move(errors)) {}

// ---------------------------------------------------------------------------------------------
// Saving

std::string save_topology(const Topology& topology) {
    auto dump = [](const njson& value) {
        return value.dump(-1, ' ', false, njson::error_handler_t::replace);
    };
    std::vector<std::string> root;
    root.push_back("\"format\": " + quote(kTopologyFormat));
    root.push_back("\"version\": " + std::to_string(kTopologyVersion));
    if (!topology.name().empty()) root.push_back("\"name\": " + quote(topology.name()));
    if (!topology.description().empty()) {
        root.push_back("\"description\": " + quote(topology.description()));
    }
    if (!topology.hosts().empty()) {
        std::vector<std::string> hosts;
        for (const Host& h : topology.hosts()) {
            std::string line = "    {\"name\": " + quote(h.name);
            if (!h.address.empty()) line += ", \"address\": " + quote(h.address);
            line += runner_text(h.runner);
            hosts.push_back(line + "}");
        }
        root.push_back("\"hosts\": [\n" + join(hosts, ",\n") + "\n  ]");
    }
    std::vector<std::string> nodes;
    for (const Node& n : topology.nodes()) {
        std::vector<std::string> members;
        members.push_back("\"id\": " + quote(n.id));
        members.push_back("\"kind\": " + quote(to_string(n.kind)));
        if (!n.name.empty()) members.push_back("\"name\": " + quote(n.name));
        if (!n.host.empty()) members.push_back("\"host\": " + quote(n.host));
        members.push_back("\"position\": [" + format_number(n.position.x) + ", " +
                          format_number(n.position.y) + "]");
        std::vector<std::string> properties;
        for (const PropertySpec& s : property_specs(n.kind)) {
            auto it = n.properties.find(s.key);
            if (it == n.properties.end() || it->is_null()) continue;
            properties.push_back("        " + quote(s.key) + ": " + dump(*it));
        }
        if (!properties.empty()) {
            members.push_back("\"properties\": {\n" + join(properties, ",\n") + "\n      }");
        }
        for (std::string& m : members)
            m = "      " + m;
        nodes.push_back("    {\n" + join(members, ",\n") + "\n    }");
    }
    root.push_back(nodes.empty() ? std::string("\"nodes\": []")
                                 : "\"nodes\": [\n" + join(nodes, ",\n") + "\n  ]");
    std::vector<std::string> links;
    for (const Link& l : topology.links()) {
        std::string line = "    {\"id\": " + quote(l.id) + ", \"from\": " + quote(l.from.str()) +
                           ", \"to\": " + quote(l.to.str());
        if (l.heartbeat_timeout > 0) {
            line += ", \"heartbeat_timeout\": " + format_number(l.heartbeat_timeout);
        }
        links.push_back(line + "}");
    }
    root.push_back(links.empty() ? std::string("\"links\": []")
                                 : "\"links\": [\n" + join(links, ",\n") + "\n  ]");
    for (std::string& m : root)
        m = "  " + m;
    return "{\n" + join(root, ",\n") + "\n}\n";
}

std::string topology_revision(const Topology& topology) {
    std::uint64_t hash = 14695981039346656037ULL;  // FNV-1a 64-bit offset basis
    for (const unsigned char c : save_topology(topology)) {
        hash ^= c;
        hash *= 1099511628211ULL;  // FNV prime
    }
    char text[17];
    std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(hash));
    return text;
}

// ---------------------------------------------------------------------------------------------
// Loading

Topology load_topology(std::string_view text) {
    std::vector<LocatedError> errors;
    njson document;
    if (json_nesting_exceeds(text)) {
        throw TopologyLoadError({LocatedError{
            "", "JSON nested more than " + std::to_string(kMaxJsonDepth) + " levels deep"}});
    }
    try {
        document = njson::parse(text.begin(), text.end());
    } catch (const njson::parse_error& e) {
        throw TopologyLoadError({{line_column(text, e.byte), parse_error_text(e, false)}});
    } catch (const njson::exception& e) {  // 1e400: a number no double holds
        throw TopologyLoadError({LocatedError{"", json_exception_text(e)}});
    }
    if (!document.is_object()) {
        throw TopologyLoadError(
            {{"", "this is not a zmqrpc topology: expected a JSON object, got " +
                      json_type_name(document)}});
    }
    auto format = document.find("format");
    if (format == document.end() || *format != kTopologyFormat) {
        throw TopologyLoadError({{"format", std::string("this is not a zmqrpc topology (expected "
                                                        "\"format\": \"") +
                                                kTopologyFormat + "\")"}});
    }
    Loader loader(errors);
    auto version = document.find("version");
    if (version == document.end()) {
        loader.error("version", "missing (expected " + std::to_string(kTopologyVersion) + ")");
    } else if (!version->is_number_integer()) {
        loader.error("version",
                     "expected an integer, got " +
                         (version->is_number() ? version->dump() : json_type_name(*version)));
    } else if (version->get<std::int64_t>() > kTopologyVersion) {
        throw TopologyLoadError(
            {{"version", "this file is version " + version->dump() +
                             ", this zmqrpc reads version " + std::to_string(kTopologyVersion) +
                             " or older; open it with a newer zmqrpc"}});
    } else if (version->get<std::int64_t>() < 1) {
        loader.error("version", "there is no version " + version->dump() +
                                    "; this zmqrpc reads version " +
                                    std::to_string(kTopologyVersion) + " or older");
    }
    loader.unknown_keys(document, "",
                        {"format", "version", "name", "description", "hosts", "nodes", "links"});
    Topology topology;
    topology.set_name(loader.string_member(document, "name", ""));
    topology.set_description(loader.string_member(document, "description", ""));
    if (auto hosts = document.find("hosts"); hosts != document.end()) {
        load_hosts(loader, *hosts, topology);
    }
    std::map<std::string, std::size_t> node_ids;
    std::vector<std::string> broken;
    if (auto nodes = document.find("nodes"); nodes != document.end()) {
        load_nodes(loader, *nodes, topology, node_ids, broken);
    }
    if (auto links = document.find("links"); links != document.end()) {
        load_links(loader, *links, topology, broken);
    }
    if (!errors.empty()) throw TopologyLoadError(std::move(errors));
    return topology;
}

Topology load_topology_file(const std::filesystem::path& path) {
    int error = 0;
    if (path.empty()) throw TopologyLoadError({LocatedError{"", "no file name given"}});
    const std::string text = read_file(path, error);
    if (error != 0) throw TopologyLoadError({{path.string(), std::strerror(error)}});
    try {
        return load_topology(text);
    } catch (const TopologyLoadError& e) {
        throw TopologyLoadError(e.errors(), path.string());
    }
}

void save_topology_file(const Topology& topology, const std::filesystem::path& path) {
    const std::string text = save_topology(topology);
    std::filesystem::path temporary = path;
    temporary += ".tmp-" + std::to_string(::getpid());
    auto fail = [&](const char* what, int error) {
        ::unlink(temporary.c_str());
        throw ConfigError("cannot save " + path.string() + " (" + what +
                          "): " + std::strerror(error));
    };
    const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) {
        const int error = errno;
        throw ConfigError("cannot save " + path.string() + ": " + std::strerror(error));
    }
    // Saving over a file keeps its permissions (the temporary file starts from the umask).
    if (struct stat existing{}; ::stat(path.c_str(), &existing) == 0) {
        ::fchmod(fd, existing.st_mode & 07777);
    }
    std::size_t written = 0;
    while (written < text.size()) {
        const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
        if (n < 0) {
            if (errno == EINTR) continue;
            const int error = errno;
            ::close(fd);
            fail("write", error);
        }
        written += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0) {
        const int error = errno;
        ::close(fd);
        fail("fsync", error);
    }
    if (::close(fd) != 0) fail("close", errno);
    if (::rename(temporary.c_str(), path.c_str()) != 0) fail("rename", errno);
    // Make the rename itself durable (best effort).
    const std::filesystem::path directory =
        path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
    if (const int dir = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dir >= 0) {
        ::fsync(dir);
        ::close(dir);
    }
}

}  // namespace zmqrpc
