// zmqrpc-studio: the desktop application. Everything but this main() lives in ui/.
#include "main_window.hpp"

#include <QApplication>

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("zmqrpc-studio"));
    QApplication::setOrganizationName(QStringLiteral("zmqrpc"));
    QApplication::setApplicationDisplayName(QStringLiteral("zmqrpc Studio"));
    return studio::runStudio(app);
}
