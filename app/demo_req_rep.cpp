// The seed README's REQ/REP example in C++: a server thread registers test_method, a client
// invokes it over REQ/REP with credentials and prints the response.
//
//   zmqrpc-demo-req-rep [ENDPOINT]     (default tcp://127.0.0.1:30000; "tcp://127.0.0.1:*" picks a
//   port)
#include <zmqrpc/zmqrpc.hpp>

#include <iostream>

int main(int argc, char** argv) {
    const std::string bind = argc > 1 ? argv[1] : "tcp://127.0.0.1:30000";
    try {
        zmqrpc::FunctionRegistry functions;
        functions.add(
            "test_method",
            [](const zmqrpc::json& p) {
                std::cout << "test_method invoked with params '"
                          << p.at("param1").get<std::string>() << "' and '"
                          << p.at("param2").get<std::string>() << "'\n";
                return zmqrpc::json("test_method response text");
            },
            {"param1", "param2"}, "prints its parameters and answers with a text");

        zmqrpc::RpcServerOptions server_options;
        server_options.rep_bind = bind;
        server_options.security = zmqrpc::Credentials{"test", "test"};
        zmqrpc::RpcServer server(server_options, functions);
        server.start();  // returns once bound: no sleep needed before the first call

        zmqrpc::RpcClientOptions client_options;
        client_options.req_connect = {zmqrpc::connect_address(server.rep_endpoint())};
        client_options.security = zmqrpc::Credentials{"test", "test"};
        client_options.req_timeout = std::chrono::seconds(5);
        zmqrpc::RpcClient client(client_options);

        // REQ/REP sockets carry a response.
        auto response = client.invoke("test_method", {{"param1", "param1"}, {"param2", "param2"}});
        std::cout << "response: " << response.get<std::string>() << "\n";

        server.stop();
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "zmqrpc-demo-req-rep: " << e.what() << "\n";
        return 1;
    }
}
