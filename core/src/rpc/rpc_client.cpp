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
// response_value_or_throw() copies the value out of a const Response; the reply is ours to take,
// and a copy of a JSON object costs allocations on every call.
json take_value_or_throw(Response response) {
    if (response.status_code == status::kOk && response.response_message) {
        return std::move(*response.response_message);
    }
    return response_value_or_throw(response);
}
}  // namespace

RpcClient::RpcClient(RpcClientOptions options) : sender_(std::move(options)) {}

json RpcClient::invoke(std::string_view function, const json& parameters) {
    if (!sender_.has_req()) {
        publish(function, parameters);
        return nullptr;
    }
    return take_value_or_throw(
        decode_response(sender_.request(request_text(function, parameters))));
}

json RpcClient::invoke(std::string_view function, const json& parameters,
                       std::chrono::milliseconds timeout) {
    if (!sender_.has_req()) {
        publish(function, parameters);
        return nullptr;
    }
    return take_value_or_throw(
        decode_response(sender_.request(request_text(function, parameters), timeout)));
}

void RpcClient::publish(std::string_view function, const json& parameters) {
    sender_.publish(request_text(function, parameters));
}

}  // namespace zmqrpc
