"""Colours, symbols and labels of roles and metrics, shared by every live view and every exported figure."""

from engine.roles import is_model_role

ROLE_COLORS = {
    "teacher": "#1f77b4",
    "student": "#d62728",
    "baseline": "#2ca02c",
}
EXTRA_TEACHER_COLOR = "#9ecae1"
REFERENCE_COLORS = {
    "theory": "#000000",
    "ridgeless": "#9467bd",
    "bayes_teacher": "#17becf",
    "bayes_student": "#e377c2",
    # a theory curve takes the colour of the role it predicts; references are dashed, so they stay apart
    "theory_teacher": "#1f77b4",
    "theory_baseline": "#2ca02c",
    "noise_rate": "#bcbd22",
    "cover_hart": "#393b79",
}
OTHER_REFERENCE_COLOR = "#8c564b"
BAYES_COLOR = "#7f7f7f"
THRESHOLD_COLOR = "#ff7f0e"
CLASS_COLORS = ("#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#dbdb8d")
POINT_COLORS = ("#1f4e79", "#a0522d", "#1b5e20", "#8b0000", "#4b0082", "#5d4037", "#880e4f", "#827717")
RUN_STYLES = ("solid", "dash", "dot", "dashdot")
# Symbols that tell the values of a second sweep axis apart (pyqtgraph names; figures map them).
SERIES_SYMBOLS = ("o", "s", "t", "d", "star", "p", "h", "+")
METRIC_LABELS = {
    "best_test_error": "test error at best epoch (validation)",
    "best_epoch": "best epoch (validation)",
    "val_error": "validation error",
    "steps": "optimizer steps",
}
# Metrics that are not the last epoch's value, so an axis does not call them "final".
NOT_FINAL = {"best_test_error", "best_epoch"}


def role_color(role: str) -> str:
    """The colour of `role`; extra teachers (teacher_2, …) share a light blue, references their own."""
    if role in ROLE_COLORS:
        return ROLE_COLORS[role]
    if is_model_role(role):
        return EXTRA_TEACHER_COLOR
    return REFERENCE_COLORS.get(role, OTHER_REFERENCE_COLOR)


def role_label(role: str) -> str:
    return role.replace("_", " ")


def metric_label(metric: str) -> str:
    """How a metric reads in a chooser or a legend: 'test error', 'test error at best epoch (validation)'."""
    return METRIC_LABELS.get(metric, metric.replace("_", " "))


def sweep_axis_label(metric: str) -> str:
    """The y label of a sweep: 'final test error', or the metric alone when it is not the last epoch's."""
    return metric_label(metric) if metric in NOT_FINAL else f"final {metric_label(metric)}"


def shade(color: str, index: int, count: int) -> str:
    """`color` lightened (low index) to darkened (high index): one shade per value of a second axis."""
    if count < 2:
        return color
    amount = -0.55 + 0.9 * index / (count - 1)
    target = 0 if amount > 0 else 255
    rgb = [int(color[i : i + 2], 16) for i in (1, 3, 5)]
    mixed = [round(c + (target - c) * abs(amount)) for c in rgb]
    return "#" + "".join(f"{c:02x}" for c in mixed)


def side_by_side(index: int, count: int, spread: float = 0.5) -> float:
    """How far series `index` of `count` sits from a choice's place, so that the series stand side by side."""
    return 0.0 if count < 2 else spread * (index / (count - 1) - 0.5)
