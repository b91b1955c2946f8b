// The Studio's first screen, as a new user sees it on the bundled example: the status bar counts
// the example's nodes before anything starts, and at the default layout the charts dock leaves a
// plot tall enough to read (120 px or more), with whole axis labels, while the canvas keeps most of
// the window. Checked at 1600x1000 and 1280x800; screenshots of both for the README.
#include "charts/charts_widget.hpp"
#include "main_window.hpp"
#include "scene/graph_scene.hpp"
#include "scene/graph_view.hpp"

#include <QDir>
#include <QDockWidget>
#include <QGraphicsTextItem>
#include <QLabel>
#include <QSettings>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtCharts/QChart>
#include <QtCharts/QChartView>
#include <QtTest>

using namespace studio;

class TestFirstScreen : public QObject {
    Q_OBJECT

    QTemporaryDir tmp_;

  private slots:
    void initTestCase() {
        QVERIFY(tmp_.isValid());
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName(QStringLiteral("zmqrpc-tests"));
        QCoreApplication::setApplicationName(QStringLiteral("tst_first_screen"));
        QSettings::setDefaultFormat(QSettings::IniFormat);
        QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, tmp_.filePath("settings"));
        qputenv("ZMQRPC_STUDIO_NO_KEYCHAIN", "1");
        qputenv("ZMQRPC_CREDENTIALS", tmp_.filePath("credentials.json").toUtf8());
        QFile::remove(MainWindow::recoveryPath());
    }

    void defaultLayout_data() {
        QTest::addColumn<QSize>("size");
        QTest::newRow("1600x1000") << QSize(1600, 1000);
        QTest::newRow("1280x800") << QSize(1280, 800);
    }

    void defaultLayout() {
        QFETCH(QSize, size);
        QSettings().clear();  // a first start
        MainWindow w;
        w.resize(size);
        QVERIFY(w.openExample(QStringLiteral("sampler-to-cloud")));
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));

        // The example's six nodes (one is a tap; none external), counted before any start.
        auto* status = w.findChild<QLabel*>(QStringLiteral("runStatus"));
        QVERIFY(status);
        QTRY_COMPARE(status->text(), QStringLiteral("0 of 6 nodes running"));

        auto* chartsDock = w.findChild<QDockWidget*>(QStringLiteral("chartsDock"));
        QVERIFY(chartsDock);
        // The charts are the bottom docks' tab shown first.
        QTRY_VERIFY(chartsDock->isVisible() && !chartsDock->visibleRegion().isEmpty());
        QTest::qWait(100);
        const QList<QChartView*> views = chartsDock->findChildren<QChartView*>();
        QVERIFY(!views.isEmpty());
        QChartView* rates = nullptr;
        for (QChartView* v : views) {
            if (v->isVisible()) rates = v;
        }
        QVERIFY2(rates, "no visible chart in the charts dock");
        rates->grab();  // lays the chart out as painting would
        const QRectF plot = rates->chart()->plotArea();
        QVERIFY2(plot.height() >= 120,
                 qPrintable(QStringLiteral("plot area only %1 px tall").arg(plot.height())));
        // No axis label shortened to fit.
        int labels = 0;
        for (QGraphicsItem* item : rates->scene()->items()) {
            if (auto* text = dynamic_cast<QGraphicsTextItem*>(item); text && text->isVisible()) {
                ++labels;
                QVERIFY2(!text->toPlainText().contains(QChar(0x2026)),
                         qPrintable(QStringLiteral("label cut: ") + text->toPlainText()));
            }
        }
        QVERIFY(labels > 0);

        // The canvas keeps the larger share of the height (the bottom docks never shrink below what
        // the charts need: at 800 px that is nearly half).
        QWidget* canvas = w.findChild<GraphView*>();
        QVERIFY(canvas);
        QVERIFY2(
            canvas->height() >= w.height() * 0.42,
            qPrintable(QStringLiteral("canvas %1 of %2 px").arg(canvas->height()).arg(w.height())));
        QVERIFY(chartsDock->height() <= canvas->height());

        QDir().mkpath(QStringLiteral(ZMQRPC_SCREENSHOT_DIR));
        QVERIFY(w.grab().save(QStringLiteral(ZMQRPC_SCREENSHOT_DIR "/first-screen-") +
                              QString::fromLatin1(QTest::currentDataTag()) + ".png"));
        QFile::remove(MainWindow::recoveryPath());
    }
};

QTEST_MAIN(TestFirstScreen)
#include "tst_first_screen.moc"
