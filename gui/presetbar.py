"""The preset row: choose a shipped or user preset, save the panel as a preset, reset to the preset."""

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QInputDialog, QPushButton, QWidget

from engine.config import ExperimentConfig
from engine.config_io import load_config, save_toml
from engine.errors import DDXError
from engine.presets import list_presets, user_preset_path
from gui import dialogs


class PresetBar(QWidget):
    """Preset combo with "Save preset as…" and "Reset to preset".

    Signals
    -------
    loaded(ExperimentConfig, str) : a preset was loaded, with its name.
    """

    loaded = Signal(object, str)

    def __init__(self, current_config, parent=None):
        super().__init__(parent)
        self.current_config = current_config
        self.combo = QComboBox()
        self.combo.setToolTip("shipped presets, then your own (saved in the user preset folder)")
        self.combo.activated.connect(lambda _: self.load_current())
        self.save_button = QPushButton("Save preset as…")
        self.save_button.clicked.connect(self.ask_save)
        self.reset_button = QPushButton("Reset to preset")
        self.reset_button.setToolTip("discard edits and reload the chosen preset")
        self.reset_button.clicked.connect(self.load_current)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.combo, 1)
        layout.addWidget(self.save_button)
        layout.addWidget(self.reset_button)
        self.fill()

    def fill(self, select: str = "") -> None:
        select = select or self.combo.currentText()
        self.combo.clear()
        for info in list_presets():
            label = info.name if info.shipped else f"{info.name} (user)"
            self.combo.addItem(label, str(info.path))
            self.combo.setItemData(self.combo.count() - 1, info.description, 3)  # 3 = ToolTipRole
        index = max(0, self.combo.findText(select), self.combo.findText(f"{select} (user)"))
        self.combo.setCurrentIndex(index)

    def name(self) -> str:
        return self.combo.currentText().removesuffix(" (user)")

    def choose(self, name: str) -> bool:
        """Select and load the preset `name`; False (after an error message) if it cannot be loaded."""
        self.fill(name)
        return self.name() == name and self.load_current()

    def load_current(self) -> bool:
        path = self.combo.currentData()
        if not path:
            return False
        try:
            cfg = load_config(Path(path))
        except DDXError as exc:
            dialogs.show_error(self, "Cannot load preset", str(exc))
            return False
        self.loaded.emit(cfg, self.name())
        return True

    def ask_save(self) -> None:
        cfg: ExperimentConfig | None = self.current_config()
        if cfg is None:
            dialogs.show_error(self, "Cannot save preset", "Fix the fields marked in red first.")
            return
        name, ok = QInputDialog.getText(self, "Save preset as", "Preset name:", text=cfg.run.name)
        if ok and name.strip():
            self.save(cfg, name.strip())

    def save(self, cfg: ExperimentConfig, name: str) -> Path | None:
        """Write `cfg` as user preset `name` and select it; None (after an error message) on failure."""
        try:
            path = user_preset_path(name)
            path.parent.mkdir(parents=True, exist_ok=True)
            save_toml(cfg, path)
        except (OSError, DDXError) as exc:
            dialogs.show_error(self, "Cannot save preset", str(exc))
            return None
        self.fill(name)
        return path
