#include "panels/runner_dialog.hpp"

#include "panels/property_editors.hpp"

#include <zmqrpc/endpoint.hpp>
#include <zmqrpc/secrets.hpp>
#include <zmqrpc/security.hpp>

#include <QDialogButtonBox>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QVBoxLayout>

namespace studio {

namespace {

QString qs(const std::string& s) {
    return QString::fromStdString(s);
}

// A connect endpoint's problem, or empty.
QString endpointProblem(const QString& what, const QString& text) {
    if (text.isEmpty()) return {};
    try {
        const zmqrpc::Endpoint e = zmqrpc::parse_endpoint(text.toStdString(), false);
        (void)e;
        return {};
    } catch (const std::exception& e) {
        return QStringLiteral("%1: %2").arg(what, QString::fromUtf8(e.what()));
    }
}

}  // namespace

RunnerDialog::RunnerDialog(const zmqrpc::Host& host, SecretStore* secrets, QWidget* parent)
    : QDialog(parent) {
    setObjectName(QStringLiteral("runnerDialog"));
    setWindowTitle(tr("Runner of host '%1'").arg(qs(host.name)));
    auto* layout = new QVBoxLayout(this);
    auto* intro = new QLabel(
        tr("The host's nodes run in <code>zmqrpc run FILE --host %1 --control ENDPOINT</code>. "
           "Run &gt; Connect to Runners attaches to it: the canvas shows what it runs, and "
           "start, stop and deploy go to it. Leave the control endpoint empty to run the "
           "host's nodes in this Studio.")
            .arg(qs(host.name).toHtmlEscaped()),
        this);
    intro->setWordWrap(true);
    layout->addWidget(intro);

    auto* form = new QFormLayout;
    const std::string address = host.address.empty() ? host.name : host.address;
    control_ = new QLineEdit(qs(host.runner.control), this);
    control_->setObjectName(QStringLiteral("runner.control"));
    control_->setPlaceholderText(QStringLiteral("tcp://%1:7100").arg(qs(address)));
    form->addRow(tr("Control endpoint"), control_);
    metrics_ = new QLineEdit(qs(host.runner.metrics), this);
    metrics_->setObjectName(QStringLiteral("runner.metrics"));
    metrics_->setPlaceholderText(tr("optional: its --metrics, for live events"));
    form->addRow(tr("Metrics endpoint"), metrics_);
    serverKey_ = new QLineEdit(qs(host.runner.server_key), this);
    serverKey_->setObjectName(QStringLiteral("runner.serverKey"));
    serverKey_->setPlaceholderText(tr("CURVE: the runner's public key (its NAME.key file)"));
    form->addRow(tr("Runner's public key"), serverKey_);
    layout->addLayout(form);

    zmqrpc::PropertySpec spec;
    spec.key = "security";
    spec.type = zmqrpc::PropertyType::Security;
    spec.label = "Studio presents";
    spec.help = "what the Studio presents to the runner: PLAIN credentials or its CURVE key";
    security_ =
        createPropertyEditor(spec, QStringLiteral("runner-") + qs(host.name), secrets, this, false);
    securityValue_ = host.runner.security.to_json();
    security_->setValue(securityValue_, !securityValue_.is_null());
    connect(security_, &PropertyEditor::commitRequested, this, [this](const nlohmann::json& v) {
        securityValue_ = v;
        security_->setValue(v, !v.is_null());
        check();
    });
    connect(security_, &PropertyEditor::resetRequested, this, [this] {
        securityValue_ = nullptr;
        security_->setValue(securityValue_, false);
        check();
    });
    layout->addWidget(new QLabel(tr("What the Studio presents to the runner"), this));
    layout->addWidget(security_);

    error_ = new QLabel(this);
    error_->setObjectName(QStringLiteral("runner.error"));
    error_->setStyleSheet(QStringLiteral("color: #c62828;"));
    error_->setWordWrap(true);
    layout->addWidget(error_);

    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    connect(buttons, &QDialogButtonBox::accepted, this, &RunnerDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &RunnerDialog::reject);
    layout->addWidget(buttons);
    for (QLineEdit* e : {control_, metrics_, serverKey_})
        connect(e, &QLineEdit::textChanged, this, &RunnerDialog::check);
    check();
    resize(560, sizeHint().height());
}

zmqrpc::Runner RunnerDialog::runner() const {
    zmqrpc::Runner r;
    r.control = control_->text().trimmed().toStdString();
    r.metrics = metrics_->text().trimmed().toStdString();
    r.server_key = serverKey_->text().trimmed().toStdString();
    try {
        r.security = zmqrpc::SecurityRef::from_json(securityValue_);
    } catch (const std::exception&) {
    }
    return r;
}

QString RunnerDialog::problem() const {
    const QString control = control_->text().trimmed();
    const QString metrics = metrics_->text().trimmed();
    const QString key = serverKey_->text().trimmed();
    if (control.isEmpty()) {
        if (!metrics.isEmpty() || !key.isEmpty() || !securityValue_.is_null())
            return tr("A runner needs its control endpoint (or clear every field: no runner).");
        return {};
    }
    if (QString p = endpointProblem(tr("control endpoint"), control); !p.isEmpty()) return p;
    if (QString p = endpointProblem(tr("metrics endpoint"), metrics); !p.isEmpty()) return p;
    zmqrpc::SecurityRef ref;
    try {
        ref = zmqrpc::SecurityRef::from_json(securityValue_);
    } catch (const std::exception& e) {
        return QString::fromUtf8(e.what());
    }
    if (ref.curve() != nullptr) {
        if (key.isEmpty())
            return tr("CURVE: the runner's public key is needed (its --control-curve key)");
        if (auto why = zmqrpc::check_curve_key(key.toStdString()))
            return tr("runner's public key: %1").arg(qs(*why));
    } else if (!key.isEmpty()) {
        return tr(
            "A runner's public key is for CURVE: choose CURVE for what the Studio "
            "presents, or clear the key.");
    }
    return {};
}

void RunnerDialog::check() {
    const QString p = problem();
    error_->setText(p);
    error_->setVisible(!p.isEmpty());
}

void RunnerDialog::accept() {
    check();
    if (!problem().isEmpty()) return;
    QDialog::accept();
}

}  // namespace studio
