#include "zmqrpc/rpc_server.hpp"

#include "zmqrpc/errors.hpp"
#include "zmqrpc/events.hpp"

namespace zmqrpc {

namespace {
// nlohmann::json destroys an array or object through a heap-allocated work stack (to bound
// recursion), even for one level of plain values. Emptying it first destroys its elements
// one by one, and the empty container then needs no stack: on a call's parameters and result
// that is two allocations and ~1,000 instructions per call (callgrind, tests/bench row 1).
void release(json& value) noexcept {
    if (value.is_object()) {
        value.get_ref<json::object_t&>().clear();
    } else if (value.is_array()) {
        value.get_ref<json::array_t&>().clear();
    }
}
}  // namespace

FunctionRegistry& FunctionRegistry::add(std::string name, RpcFunction function,
                                        std::vector<std::string> parameter_names,
                                        std::string help) {
    if (name.empty()) throw ConfigError("function name must not be empty");
    if (!function) throw ConfigError("function '" + name + "' has no implementation");
    FunctionInfo info{name, std::move(parameter_names), std::move(help)};
    functions_.insert_or_assign(std::move(name), Entry{std::move(function), std::move(info)});
    return *this;
}

bool FunctionRegistry::contains(const std::string& name) const {
    return functions_.count(name) != 0;
}

std::vector<FunctionInfo> FunctionRegistry::describe() const {
    std::vector<FunctionInfo> out;
    out.reserve(functions_.size());
    for (const auto& [name, entry] : functions_)
        out.push_back(entry.info);
    return out;
}

json FunctionRegistry::describe_json() const {
    json out = json::array();
    auto entry = [&out](const FunctionInfo& info) {
        out.push_back({{"name", info.name}, {"parameters", info.parameters}, {"help", info.help}});
    };
    for (const auto& [name, e] : functions_)
        entry(e.info);
    if (!contains(std::string(kDescribe))) {
        entry({std::string(kDescribe), {}, "lists the functions of this server"});
    }
    return out;
}

std::string FunctionRegistry::dispatch(std::string_view message) const {
    int code = 0;
    return dispatch(message, code);
}

int FunctionRegistry::run(std::string_view message, json& result, std::string& error_reply) const {
    DecodedRequest decoded = decode_request(message);
    if (!decoded.request) {
        error_reply = encode_response(decoded.error_status, decoded.error_text);
        return decoded.error_status;
    }
    const Request& request = *decoded.request;
    auto it = functions_.find(request.function);
    if (it == functions_.end()) {
        if (request.function == kDescribe) {
            result = describe_json();
            return status::kOk;
        }
        error_reply = encode_response(status::kUnknownFunction,
                                      status_text_unknown_function(request.function));
        return status::kUnknownFunction;
    }
    if (request.not_a_mapping) {
        error_reply =
            encode_response(status::kFunctionRaised,
                            status_text_not_a_mapping(request.function, request.not_a_mapping));
        return status::kFunctionRaised;
    }
    try {
        result = it->second.function(request.parameters);
        release(decoded.request->parameters);
        return status::kOk;
    } catch (const std::exception& e) {
        error_reply = encode_response(status::kFunctionRaised,
                                      status_text_function_raised(request.function, e.what()));
    } catch (...) {
        error_reply =
            encode_response(status::kFunctionRaised,
                            status_text_function_raised(request.function, "unknown exception"));
    }
    return status::kFunctionRaised;
}

std::string FunctionRegistry::dispatch(std::string_view message, int& status_code) const {
    json result;
    std::string error_reply;
    status_code = run(message, result, error_reply);
    if (status_code != status::kOk) return error_reply;
    if (result.is_null()) return encode_response(status::kOk, "OK");
    std::optional<json> value(std::move(result));
    std::string reply = encode_response(status::kOk, "OK", value);
    release(*value);
    return reply;
}

int FunctionRegistry::call(std::string_view message, std::string& error_reply) const {
    json result;
    return run(message, result, error_reply);
}

RpcServer::RpcServer(RpcServerOptions options, FunctionRegistry functions)
    : functions_(std::make_shared<const FunctionRegistry>(std::move(functions))),
      counters_(std::make_shared<Counters>()) {
    if (options.name.empty()) options.name = "rpc-server";
    auto registry = functions_;
    auto counters = counters_;
    auto events = options.events;
    auto name = options.name;
    ReceiverOptions receiver_options;
    static_cast<CommonOptions&>(receiver_options) = std::move(static_cast<CommonOptions&>(options));
    static_cast<InputOptions&>(receiver_options) = std::move(static_cast<InputOptions&>(options));
    receiver_ = std::make_unique<Receiver>(
        std::move(receiver_options),
        [registry, counters, events, name](std::string_view message, Origin origin) {
            int code = 0;
            std::string reply;
            if (origin == Origin::Sub) {
                code = registry->call(message, reply);  // nothing is answered over SUB
            } else {
                reply = registry->dispatch(message, code);
            }
            if (code == status::kBadJson || code == status::kNoFunction) {
                counters->bad.fetch_add(1, std::memory_order_relaxed);
            } else if (code != status::kOk) {
                counters->errors.fetch_add(1, std::memory_order_relaxed);
            }
            if (code != status::kOk && events) {
                std::string text = "call answered " + std::to_string(code);
                try {
                    text += ": " + decode_response(reply).status_message;
                } catch (const std::exception&) {
                }
                events->publish(name,
                                code == status::kBadJson || code == status::kNoFunction
                                    ? EventKind::BadMessage
                                    : EventKind::Error,
                                {}, std::move(text));
            }
            return reply;
        });
}

RpcServer::~RpcServer() = default;
void RpcServer::start() {
    receiver_->start();
}
void RpcServer::stop() {
    receiver_->stop();
}
void RpcServer::join() {
    receiver_->join();
}
bool RpcServer::running() const {
    return receiver_->running();
}
std::string RpcServer::rep_endpoint() const {
    return receiver_->rep_endpoint();
}

MetricsSnapshot RpcServer::metrics() const {
    MetricsSnapshot m = receiver_->metrics();
    m.kind = "rpc-server";
    m.errors += counters_->errors.load(std::memory_order_relaxed);
    m.bad_messages += counters_->bad.load(std::memory_order_relaxed);
    return m;
}

}  // namespace zmqrpc
