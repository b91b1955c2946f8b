#include "zmqrpc/rpc_client.hpp"

#include "zmqrpc/errors.hpp"

namespace zmqrpc {

namespace {
std::string request_text(std::string_view function, const json& parameters) {
    if (function.empty()) throw ConfigError("function name must not be empty");
    try {
        return encode_request(function, parameters);
    } catch (const std::invalid_argument& e) {
        throw ConfigError(e.what());
    }
}
}  // namespace

RpcClient::RpcClient(RpcClientOptions options) : sender_(std::move(options)) {}

json RpcClient::invoke(std::string_view function, const json& parameters) {
    if (!sender_.has_req()) {
        publish(function, parameters);
        return nullptr;
    }
    return response_value_or_throw(
        decode_response(sender_.request(request_text(function, parameters))));
}

json RpcClient::invoke(std::string_view function, const json& parameters,
                       std::chrono::milliseconds timeout) {
    if (!sender_.has_req()) {
        publish(function, parameters);
        return nullptr;
    }
    return response_value_or_throw(
        decode_response(sender_.request(request_text(function, parameters), timeout)));
}

void RpcClient::publish(std::string_view function, const json& parameters) {
    sender_.publish(request_text(function, parameters));
}

}  // namespace zmqrpc
