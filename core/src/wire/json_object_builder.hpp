// Building a zmqrpc::json object member by member, as a Python dict is built from the members of
// a JSON object. Shared by both readers of messages (loads() and the simdjson fast path of
// protocol.cpp). Internal to libzmqrpc.
#pragma once

#include "zmqrpc/protocol.hpp"

#include <cstddef>
#include <string>
#include <unordered_map>
#include <utility>

namespace zmqrpc::detail {

// A JSON object's members in the order they first came, a repeated key keeping its place and
// taking the last value, as a Python dict built from them does. Large objects index their keys
// so that a message of many members costs linear time, not quadratic.
class ObjectBuilder {
  public:
    void set(std::string&& key, json&& value) {
        if (members_.size() < kIndexFrom) {
            for (auto& member : members_) {
                if (member.first == key) {
                    member.second = std::move(value);
                    return;
                }
            }
        } else {
            if (index_.empty()) {
                for (std::size_t i = 0; i < members_.size(); ++i)
                    index_.emplace((members_.begin() + static_cast<std::ptrdiff_t>(i))->first, i);
            }
            const auto [it, inserted] = index_.emplace(key, members_.size());
            if (!inserted) {
                (members_.begin() + static_cast<std::ptrdiff_t>(it->second))->second =
                    std::move(value);
                return;
            }
        }
        members_.emplace_back(std::move(key), std::move(value));
    }
    json finish() {
        json object(json::value_t::object);
        object.get_ref<json::object_t&>() = std::move(members_);
        return object;
    }

  private:
    static constexpr std::size_t kIndexFrom = 16;
    json::object_t members_;
    std::unordered_map<std::string, std::size_t> index_;
};

}  // namespace zmqrpc::detail
