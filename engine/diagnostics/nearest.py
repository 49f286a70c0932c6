"""Where a 1-nearest-neighbour teacher's clean test error tends as its training set grows (Cover & Hart).

A 1-NN rule predicts its nearest training point's label. Trained on labels flipped with probability
ε, it asymptotically predicts a noisy label drawn at the test input, so on classes that do not
overlap (Bayes error 0) its clean test error tends to the noise rate ε: it is a sampler. Where the
classes overlap with a known Bayes error R* (two classes), its asymptotic clean error is
ε + (1 − 2ε)·E[2η(1 − η)] ≤ ε + (1 − 2ε)·2R*(1 − R*), the Cover–Hart bound 2R*(1 − R*) at ε = 0.
"""

from engine.diagnostics.base import register_diagnostic
from engine.outcomes import Findings


def cover_hart_bound(bayes_error: float, noise: float) -> float:
    """Upper bound on the asymptotic clean test error of 1-NN on two classes with symmetric label noise."""
    return noise + (1 - 2 * noise) * 2 * bayes_error * (1 - bayes_error)


def nearest_neighbour_references(cfg, data, roles: dict) -> Findings:
    """`noise_rate` where labels are noisy; `cover_hart` where the data know R* and have two classes."""
    references = {}
    if cfg.data.noise > 0:
        references["noise_rate"] = {"test_error": cfg.data.noise}
    if data.bayes_error is not None and data.n_classes == 2 and cfg.data.noise < 0.5:
        references["cover_hart"] = {"test_error": cover_hart_bound(data.bayes_error, cfg.data.noise)}
    return Findings(references=references)


register_diagnostic(
    "nearest_neighbour",
    lambda cfg: cfg.teacher.model == "knn" and cfg.teacher.k == 1 and cfg.distill.mode != "self",
    "where a 1-NN teacher's clean test error tends with more data: the noise rate (role 'noise_rate', "
    "separable classes) and the Cover–Hart bound ε + (1 − 2ε)·2R*(1 − R*) (role 'cover_hart', known R*)",
    after=nearest_neighbour_references,
)
