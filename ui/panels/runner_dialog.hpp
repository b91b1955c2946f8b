// The runner of one host, as the Hosts table edits it: the runner's control endpoint
// (`zmqrpc run --control`), its metrics endpoint (`--metrics`, optional), its public key (CURVE)
// and what the Studio presents to it (PLAIN credentials or its own CURVE key, by reference).
// Accepting it hands back a zmqrpc::Runner; the inspector writes it into the document (one undo
// step). Nothing secret is in it: passwords and secret keys go to the keychain or a key file.
#pragma once

#include <zmqrpc/topology.hpp>

#include <QDialog>

class QLabel;
class QLineEdit;

namespace studio {

class PropertyEditor;
class SecretStore;

class RunnerDialog : public QDialog {
    Q_OBJECT

  public:
    RunnerDialog(const zmqrpc::Host& host, SecretStore* secrets, QWidget* parent = nullptr);

    // What the fields say (valid once accepted).
    zmqrpc::Runner runner() const;
    // Why the fields cannot be accepted, or empty.
    QString problem() const;

    void accept() override;  // refuses (and shows why) while problem() is not empty

  private:
    void check();

    QLineEdit* control_ = nullptr;
    QLineEdit* metrics_ = nullptr;
    QLineEdit* serverKey_ = nullptr;
    PropertyEditor* security_ = nullptr;
    nlohmann::json securityValue_;
    QLabel* error_ = nullptr;
};

}  // namespace studio
