// Where zmqrpc's own files live on this host. Internal to the security layer.
#pragma once

#include <filesystem>

namespace zmqrpc::detail {

// $XDG_CONFIG_HOME/zmqrpc (when absolute), else ~/.config/zmqrpc: the home of the credentials
// file and the keys directory.
std::filesystem::path config_dir();

}  // namespace zmqrpc::detail
