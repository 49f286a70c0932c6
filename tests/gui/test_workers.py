"""The Workers setting: chosen in a dialog, remembered between launches, used by Run; a bad scheduler is a dialog."""

import pytest
from PySide6.QtWidgets import QDialogButtonBox

import engine.cluster
from engine.cluster import Cluster
from gui.workers import WorkersDialog, save_cluster, saved_cluster
from tests.gui.conftest import tiny_config


def test_the_choice_is_remembered_and_shown(window, qtbot):
    assert saved_cluster() == Cluster() and window.workers_label.text() == "workers: in-process"
    dialog = WorkersDialog(saved_cluster(), window)
    qtbot.addWidget(dialog)
    dialog.local.setChecked(True)
    dialog.count.setValue(3)
    save_cluster(dialog.chosen())
    window.show_workers()
    assert saved_cluster() == Cluster(workers=3)
    assert window.workers_label.text() == "workers: 3 local Dask worker process(es)"
    again = WorkersDialog(saved_cluster(), window)
    qtbot.addWidget(again)
    assert again.local.isChecked() and again.count.value() == 3, "the dialog opens on the remembered choice"
    again.remote.setChecked(True)
    again.address.setText("tcp://10.0.0.5:8786")
    assert again.chosen() == Cluster(scheduler="tcp://10.0.0.5:8786")


def test_an_unreachable_scheduler_is_a_dialog_and_the_app_keeps_running(window, qtbot, errors, monkeypatch, tmp_path):
    pytest.importorskip("distributed")
    monkeypatch.setattr(engine.cluster, "CONNECT_TIMEOUT_S", 1)
    save_cluster(Cluster(scheduler="tcp://127.0.0.1:9"))
    window.panel.set_config(tiny_config())
    with qtbot.waitSignal(window.controller.finished, timeout=30_000):
        window.run_action.trigger()
    assert any("cannot reach the Dask scheduler at 'tcp://127.0.0.1:9'" in text for _, text in errors)
    assert not list((tmp_path / "data").glob("*.h5")), "nothing was written"
    assert window.run_action.isEnabled()


def test_the_scheduler_option_without_an_address_is_refused_in_the_dialog(window, qtbot):
    dialog = WorkersDialog(saved_cluster(), window)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.remote.setChecked(True)
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    for bad in ("", "   ", "localhost:8786"):
        dialog.address.setText(bad)
        ok.click()
        assert dialog.isVisible() and dialog.result() != dialog.DialogCode.Accepted, "the dialog stays open"
        assert dialog.problem.isVisible() and "needs its address, such as tcp://host:8786" in dialog.problem.text()
    dialog.address.setText("tcp://10.0.0.5:8786")
    ok.click()
    assert dialog.result() == dialog.DialogCode.Accepted
    assert dialog.chosen() == Cluster(scheduler="tcp://10.0.0.5:8786")
