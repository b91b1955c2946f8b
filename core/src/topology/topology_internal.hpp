// Helpers shared by topology.cpp (model), topology_format.cpp (file format) and
// topology_validate.cpp (validation). Internal to libzmqrpc; pure functions.
#pragma once

#include "zmqrpc/topology.hpp"

#include "json_text.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace zmqrpc::topology_detail {

using detail::json_type_name;
// 5 -> "5", 0.5 -> "0.5", 1e6 -> "1000000": integral values without ".0".
std::string format_number(double value);
// JSON text of a string, UTF-8 kept as is.
std::string quote(std::string_view text);

// [A-Za-z0-9_-]+
bool valid_id(std::string_view id);
// "node id 'a b' may only contain letters, digits, '-' and '_'" (what: "node", "link").
std::string invalid_id_text(std::string_view what, std::string_view id);

// "sampler, rpc-server, ..."
std::string known_kinds_text();
// "unknown property 'rat' of a sampler (known: bind, function, ...)"
std::string unknown_property_text(NodeKind kind, std::string_view key);
// Whether the JSON type of `value` fits the spec (null always does): the problem text, or
// nullopt. Credentials are parsed (a literal password is refused here); ranges, endpoint syntax
// and choices are left to check_property().
std::optional<std::string> property_type_problem(const PropertySpec& spec,
                                                 const nlohmann::json& value);

const PortSpec* find_port(const std::vector<PortSpec>& ports, std::string_view name);
// "pub, sub" (or "none")
std::string ports_text(const std::vector<PortSpec>& ports);
// Why `from` cannot link to `to`, apart from an existing link between them.
std::optional<std::string> port_problem(const Topology& topology, const PortRef& from,
                                        const PortRef& to);

}  // namespace zmqrpc::topology_detail
