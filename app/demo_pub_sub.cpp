// The seed README's PUB/SUB example in C++: a client publishes an invocation of test_method, a
// server thread subscribed to it runs the function (no response over PUB/SUB), with credentials
// and a per-socket heartbeat timeout.
//
//   zmqrpc-demo-pub-sub [ENDPOINT]     (default tcp://127.0.0.1:30001; "tcp://127.0.0.1:*" picks a
//   port)
#include <zmqrpc/zmqrpc.hpp>

#include <atomic>
#include <iostream>
#include <thread>

int main(int argc, char** argv) {
    using namespace std::chrono_literals;
    const std::string bind = argc > 1 ? argv[1] : "tcp://127.0.0.1:30001";
    try {
        zmqrpc::RpcClientOptions client_options;
        client_options.pub_bind = bind;
        client_options.security = zmqrpc::Credentials{"test", "test"};
        zmqrpc::RpcClient client(client_options);

        std::atomic<bool> invoked{false};
        zmqrpc::FunctionRegistry functions;
        functions.add("test_method",
                      [&invoked](const zmqrpc::json& p) {
                          std::cout << "test_method invoked with params '"
                                    << p.at("param1").get<std::string>() << "' and '"
                                    << p.at("param2").get<std::string>() << "'\n";
                          invoked = true;
                          return zmqrpc::json();
                      },
                      {"param1", "param2"});

        zmqrpc::RpcServerOptions server_options;
        // One SUB endpoint with its own heartbeat timeout of 60 s (seed 1.5.0).
        server_options.sub_connect = {
            {zmqrpc::connect_address(client.sender().pub_endpoint()), 60s}};
        server_options.security = zmqrpc::Credentials{"test", "test"};
        zmqrpc::RpcServer server(server_options, functions);
        server.start();

        // Instead of the seed's sleep(2): wait until the subscription has reached the publisher.
        if (!client.sender().wait_for_subscribers(1, 5s)) {
            std::cerr << "zmqrpc-demo-pub-sub: no subscriber connected within 5 s\n";
            return 1;
        }
        client.invoke("test_method", {{"param1", "param1"}, {"param2", "param2"}});

        for (int i = 0; i < 500 && !invoked; ++i)
            std::this_thread::sleep_for(10ms);
        server.stop();
        if (!invoked) {
            std::cerr << "zmqrpc-demo-pub-sub: the invocation did not arrive within 5 s\n";
            return 1;
        }
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "zmqrpc-demo-pub-sub: " << e.what() << "\n";
        return 1;
    }
}
