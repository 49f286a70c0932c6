"""The parameter panel: one editor per config field, generated from the config model."""

import re

from pydantic import ValidationError
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFormLayout, QGroupBox, QLabel, QScrollArea, QVBoxLayout, QWidget

from engine.config import SCHEMA_VERSION, SECTIONS, ExperimentConfig, explain
from engine.datasets import DATASETS
from engine.distill import MODES
from engine.models import FAMILIES
from gui import fields

COMMON_DATA = ("dataset", "n_train", "n_test", "n_unlabeled", "n_val", "noise", "noise_kind", "seed")
ERROR_STYLE = "border: 1px solid #d62728; background: #fde8e8;"
KEY_PATTERN = re.compile(r"\b(?:" + "|".join(SECTIONS) + r")\.\w+")


def section_fields(section: str) -> dict:
    return ExperimentConfig.model_fields[section].annotation.model_fields


def relevant(key: str, raw: dict) -> bool:
    """Whether the chosen dataset, model family or distillation mode reads the field `key`."""
    section, name = key.split(".")
    if section == "data":
        return name in COMMON_DATA or name in DATASETS[raw["data"]["dataset"]].fields
    if section in ("teacher", "student"):
        return name == "model" or name in FAMILIES[raw[section]["model"]].fields
    if section == "distill":
        return name == "mode" or name in MODES[raw["distill"]["mode"]].fields
    return True


class ParameterPanel(QWidget):
    """Editors grouped by config section; hides knobs the current choices do not read.

    Signals
    -------
    edited : emitted after any change, with whether the config is now valid.
    """

    edited = Signal(bool)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.editors: dict[str, QWidget] = {}
        self.forms: dict[str, QFormLayout] = {}
        self.groups: dict[str, QGroupBox] = {}
        self.tooltips: dict[str, str] = {}
        self.loading = False
        self.problems: dict[str, str] = {}
        self.general_problems: list[str] = []
        content = QWidget()
        column = QVBoxLayout(content)
        for section in SECTIONS:
            column.addWidget(self.build_section(section))
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(content)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #d62728;")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.message)
        self.set_config(ExperimentConfig())

    def build_section(self, section: str) -> QGroupBox:
        model = ExperimentConfig.model_fields[section].annotation
        group = QGroupBox(section)
        group.setToolTip(model.__doc__ or "")
        form = QFormLayout(group)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for name, info in section_fields(section).items():
            key = f"{section}.{name}"
            editor = fields.make_editor(key, info)
            editor.setObjectName(key)
            self.editors[key] = editor
            self.tooltips[key] = editor.toolTip()
            fields.changed_signal(editor).connect(self.on_edit)
            label = QLabel(name)
            label.setToolTip(editor.toolTip())
            form.addRow(label, editor)
        self.forms[section], self.groups[section] = form, group
        return group

    def set_config(self, cfg: ExperimentConfig) -> None:
        """Show `cfg` in the editors (every field, including the hidden ones)."""
        self.loading = True
        try:
            for section, values in cfg.model_dump().items():
                if section == "schema_version":
                    continue
                for name, value in values.items():
                    fields.set_value(self.editors[f"{section}.{name}"], value)
        finally:
            self.loading = False
        self.on_edit()

    def raw(self) -> dict:
        """The editors' values as a nested dict; list editors that do not parse are recorded as problems."""
        raw: dict = {"schema_version": SCHEMA_VERSION}
        self.problems = {}
        for key, editor in self.editors.items():
            section, name = key.split(".")
            try:
                raw.setdefault(section, {})[name] = fields.get_value(editor)
            except ValueError as exc:
                self.problems[key] = str(exc)
                raw.setdefault(section, {})[name] = []
        return raw

    def config(self) -> ExperimentConfig | None:
        """The valid config shown in the panel, or None (each problem recorded by field) when invalid."""
        raw = self.raw()
        self.general_problems = []
        try:
            cfg = ExperimentConfig.model_validate(raw)
        except ValidationError as exc:
            for error in exc.errors():
                self.record(tuple(str(p) for p in error["loc"]), explain(error))
            return None
        return None if self.problems else cfg

    def record(self, loc: tuple, message: str) -> None:
        if len(loc) >= 2 and f"{loc[0]}.{loc[1]}" in self.editors:
            self.problems.setdefault(f"{loc[0]}.{loc[1]}", message)
            return
        self.general_problems.append(message)
        for key in KEY_PATTERN.findall(message):
            if key in self.editors:
                self.problems.setdefault(key, message)

    def on_edit(self, *_) -> None:
        if self.loading:
            return
        cfg = self.config()
        self.show_problems()
        self.update_visibility()
        self.edited.emit(cfg is not None)

    def show_problems(self) -> None:
        for key, editor in self.editors.items():
            problem = self.problems.get(key)
            editor.setStyleSheet(ERROR_STYLE if problem else "")
            editor.setToolTip(f"{self.tooltips[key]}\n\n⚠ {problem}" if problem else self.tooltips[key])
        lines = [f"{k}: {m}" for k, m in self.problems.items() if m not in self.general_problems]
        self.message.setText("\n".join(lines + self.general_problems))

    def update_visibility(self) -> None:
        raw = {s: {} for s in SECTIONS}
        for key in ("data.dataset", "teacher.model", "student.model", "distill.mode"):
            section, name = key.split(".")
            raw[section][name] = fields.get_value(self.editors[key])
        for key, editor in self.editors.items():
            self.forms[key.split(".")[0]].setRowVisible(editor, relevant(key, raw) or key in self.problems)
        self.groups["teacher"].setVisible(raw["distill"]["mode"] != "self")  # self-distillation has no teacher
        gradient = any(FAMILIES[raw[s]["model"]].gradient for s in ("teacher", "student"))
        self.groups["train"].setEnabled(gradient)
        self.groups["train"].setToolTip("" if gradient else "neither teacher nor student is trained by gradient")
