// Downstream program built against the installed zmqrpc package: serves one function over REP on
// a free loopback port and invokes it with RpcClient. Exit 0 when the reply is right.
#include <zmqrpc/zmqrpc.hpp>

#include <chrono>
#include <exception>
#include <iostream>
#include <string>

int main() {
    using namespace zmqrpc;
    try {
        FunctionRegistry functions;
        functions.add(
            "concat",
            [](const json& p) {
                return json(p.at("param1").get<std::string>() + p.at("param2").get<std::string>());
            },
            {"param1", "param2"}, "concatenates its parameters");

        RpcServerOptions server_options;
        server_options.rep_bind = "tcp://127.0.0.1:*";
        RpcServer server(server_options, functions);
        server.start();
        const std::string endpoint = server.rep_endpoint();  // the port the system picked

        RpcClientOptions client_options;
        client_options.req_connect = {endpoint};
        client_options.req_timeout = std::chrono::seconds(10);
        RpcClient client(client_options);
        json response = client.invoke("concat", {{"param1", "Hello"}, {"param2", " world"}});
        server.stop();

        std::cout << "zmqrpc " << version() << " (libzmq " << libzmq_version() << "): " << endpoint
                  << " answered " << response.dump() << std::endl;
        if (response != "Hello world") {
            std::cerr << "downstream: unexpected response " << response.dump() << std::endl;
            return 1;
        }
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "downstream: " << e.what() << std::endl;
        return 1;
    }
}
