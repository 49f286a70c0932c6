"""The roles of a point: models trained on data, and closed-form references computed beside them.

Model roles are the teachers (`teacher`, `teacher_2`, …), the `student` and the `baseline`.
Reference roles (a theory curve, a Bayes-optimal bound, a least-squares fit) are listed here and
computed by diagnostics (engine/diagnostics); they are stored like a model role with one epoch, so every sweep
view draws them, and views tell the two kinds apart with `is_model_role`.
"""

MAIN_ROLES = ("teacher", "student", "baseline")
MODEL, REFERENCE = "model", "reference"
REFERENCES = {
    "ridgeless": "min-norm least squares fit to the real-valued targets (linear regression)",
    "theory": "asymptotic excess risk of min-norm least squares (Hastie et al.)",
    "bayes_teacher": "Bayes-optimal test error of a teacher seeing every feature (Gaussian mixture)",
    "bayes_student": "Bayes-optimal test error of the η-sparse student (Gaussian mixture)",
    "theory_teacher": "replica test error of the logistic teacher (Gaussian mixture, Mignacco et al.)",
    "theory_baseline": "replica test error of the η-sparse logistic baseline (Gaussian mixture)",
    "noise_rate": "the label noise rate: a 1-NN teacher's clean test error tends to it on separable classes",
    "cover_hart": "Cover–Hart bound ε + (1 − 2ε)·2R*(1 − R*) on a 1-NN teacher's asymptotic clean test error",
}


def teacher_role(m: int) -> str:
    """The name of teacher m (0-based): `teacher`, then `teacher_2`, `teacher_3`, …"""
    return "teacher" if m == 0 else f"teacher_{m + 1}"


def role_kind(role: str) -> str:
    """MODEL or REFERENCE."""
    return REFERENCE if role in REFERENCES else MODEL


def is_model_role(role: str) -> bool:
    return role_kind(role) == MODEL


def ordered(roles) -> list[str]:
    """Teacher, student and baseline first, then every other role by name."""
    present = set(roles)
    return [r for r in MAIN_ROLES if r in present] + sorted(present - set(MAIN_ROLES))
