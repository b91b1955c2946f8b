// One icon and one colour per node kind, shared by the palette, the inspector and the scene so
// that a kind looks the same everywhere. The icons are the SVGs under resources/icons
// (":/studio/icons/<kind>.svg"), rendered once per size and cached.
//
// GUI thread only (QIcon/QPixmap).
#pragma once

#include <zmqrpc/topology.hpp>

#include <QColor>
#include <QIcon>

namespace studio {

// The kind's icon (from ":/studio/icons/<to_string(kind)>.svg"); never null.
QIcon kindIcon(zmqrpc::NodeKind kind);
// The kind's colour: the fill of its icon, for node headers and accents.
QColor kindColor(zmqrpc::NodeKind kind);

}  // namespace studio
