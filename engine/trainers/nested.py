"""One factorization for a whole width sweep of random-features fits.

Random features of width p are the first p columns of any wider model's features (same seed), so
the fits of a sweep share their work:

- ridgeless, p ≤ n: one QR of the widest such feature matrix, F = QR, gives every narrower fit as a
  triangular solve, β_p = R[:p, :p]⁻¹ (Qᵀy)[:p];
- p > n (min-norm) or ridge > 0: Gram matrices grow by adding columns, K_p = K_p' + F[:, p':p] F[:, p':p]ᵀ
  (or the leading block of FᵀF), and each width needs one n×n (or p×p) Cholesky solve.

Every target matrix of jobs sharing the features (a teacher sweep's labels, or the pools labeled
by each teacher for a fixed-width student) is solved at once as extra right-hand sides.
"""

from collections import defaultdict
from collections.abc import Callable

import torch

from engine.metrics import Labels, batch_metrics
from engine.models.closed_form import FEATURE_ELEMENTS, RandomFeatures, ridge_solve
from engine.trainers.alone import train_alone
from engine.trainers.jobs import Fit, Fits, Job, Options, same_tensor

# Below these relative sizes of R's (or the Cholesky factor's) diagonal a width is solved from its
# own features like a fit done alone. A Gram matrix squares the condition number, so its factor must
# stay within 1e-4 (condition ≤ 1e8) for the solve to keep about 8 correct digits.
RANK_TOLERANCE = 1e-10
CHOLESKY_TOLERANCE = 1e-4


def train_nested(jobs: list[Job], options: Options, stop: Callable[[], bool]) -> Fits:
    """Random-features jobs sharing their features (seed, inputs, ridge) are solved at once; the rest alone."""
    groups: dict[tuple, list[Job]] = defaultdict(list)
    for job in jobs:
        learner = job.learner
        shared = type(learner) is RandomFeatures
        groups[(learner.seed, same_tensor(job.x), learner.spec.ridge) if shared else (id(job),)].append(job)
    alone = []
    for members in groups.values():
        if len(members) == 1:
            alone += members
            continue
        yield solved_fits(members)
        for job in members:
            job.done = True
        options.saving.epoch_ended()
        if stop():
            return False
    return (yield from train_alone(alone, options, stop))


def solved_fits(jobs: list[Job]) -> list[Fit]:
    """Solve `jobs` together and measure them from logits computed with one pass of the widest features."""
    learners = [job.learner for job in jobs]
    solve_group(learners, jobs[0].x, [job.targets for job in jobs])
    later = [job.later for job in jobs if job.later is not None]
    logits = predict_group(learners, unique([x for job in jobs for x in evaluation_inputs(job)] + later))
    sets = [[logits[m][id(x)] for x in evaluation_inputs(job)] for m, job in enumerate(jobs)]
    train, val, test, fit = (torch.stack([s[k] for s in sets]) for k in range(4))
    n_classes = jobs[0].data.n_classes
    fit_labels = torch.stack([job.targets.labels(n_classes) for job in jobs])
    labels = Labels.of([job.data for job in jobs])
    rows, test_pred = batch_metrics(train.argmax(-1), val.argmax(-1), test, fit.argmax(-1), fit_labels, labels, "mse")
    fits = []
    for m, job in enumerate(jobs):
        residual = fit[m].to(torch.float64) - job.targets.distribution(n_classes)
        if job.later is not None:
            job.later_logits = logits[m][id(job.later)]
        fits.append(Fit(job, 1, float(0.5 * (residual**2).sum(1).mean()), rows[m], test_pred[m]))
    return fits


def evaluation_inputs(job: Job) -> list[torch.Tensor]:
    return [job.data.x_train, job.data.x_val, job.data.x_test, job.x]


def unique(tensors: list[torch.Tensor]) -> list[torch.Tensor]:
    return list({id(t): t for t in tensors}.values())


def predict_group(learners: list[RandomFeatures], inputs: list[torch.Tensor]) -> list[dict[int, torch.Tensor]]:
    """Per learner, its logits on each input set (by id), from the widest model's features computed once per row chunk."""
    widest = max(learners, key=lambda learner: learner.spec.width)
    rows = max(1, FEATURE_ELEMENTS // widest.spec.width)
    found: list[dict[int, torch.Tensor]] = [{} for _ in learners]
    for x in inputs:
        parts: list[list[torch.Tensor]] = [[] for _ in learners]
        for start in range(0, len(x), rows):
            features = widest.raw_features(x[start : start + rows].to(torch.float64))
            for part, learner in zip(parts, learners, strict=True):
                p = learner.spec.width
                part.append(features[:, :p] @ (learner.beta / p**0.5))
        for mine, part, learner in zip(found, parts, learners, strict=True):
            logits = torch.cat(part) if part else torch.zeros(0, learner.n_classes, device=x.device)
            mine[id(x)] = logits.to(torch.float32)
    return found


def solve_group(learners: list[RandomFeatures], x: torch.Tensor, targets: list) -> None:
    """Fit every learner (same seed and inputs, any widths) from the widest one's features."""
    widest = max(learners, key=lambda learner: learner.spec.width)
    x = x.to(torch.float64)
    widest.prepare(x)
    features = widest.raw_features(x)
    # targets built from the same tensors (a teacher sweep's labels) are solved once
    distinct: dict[tuple, tuple[int, torch.Tensor]] = {}
    for t, learner in zip(targets, learners, strict=True):
        key = (id(t.hard), id(t.soft), id(t.weight), t.temperature)
        if key not in distinct:
            start = sum(y.shape[1] for _, y in distinct.values())
            distinct[key] = (start, t.distribution(learner.n_classes).to(features.device))
    columns = torch.cat([y for _, y in distinct.values()], 1)
    widths = sorted({learner.spec.width for learner in learners})
    scales = {learner.spec.width: 1 / learner.spec.width**0.5 for learner in learners}
    betas = nested_solve(features, columns, widths, {p: widest.spec.ridge / scales[p] ** 2 for p in widths})
    for t, learner in zip(targets, learners, strict=True):
        start, y = distinct[(id(t.hard), id(t.soft), id(t.weight), t.temperature)]
        p = learner.spec.width
        learner.adopt(widest, betas[p][:, start : start + y.shape[1]] / scales[p])


def nested_solve(features: torch.Tensor, y: torch.Tensor, widths: list[int], ridges: dict[int, float]) -> dict:
    """β_p minimizing ‖F[:, :p]β − y‖² + ridge_p‖β‖² (min-norm when ridge_p = 0) for every width p."""
    n = len(features)
    under = [p for p in widths if p <= n]
    betas = {}
    if under and all(ridges[p] == 0 for p in under):
        betas |= least_squares(features[:, : max(under)], y, under)
    elif under:
        gram = features[:, : max(under)].T @ features[:, : max(under)]
        right = features[:, : max(under)].T @ y
        for p in under:
            solved = spd_solve(gram[:p, :p], right[:p], ridges[p])
            betas[p] = ridge_solve(features[:, :p], y, ridges[p]) if solved is None else solved
    gram, done = torch.zeros(n, n, dtype=features.dtype, device=features.device), 0
    for p in (p for p in widths if p > n):
        block = features[:, done:p]
        gram += block @ block.T
        done = p
        solved = spd_solve(gram, y, ridges[p])
        betas[p] = ridge_solve(features[:, :p], y, ridges[p]) if solved is None else features[:, :p].T @ solved
    return betas


def least_squares(features: torch.Tensor, y: torch.Tensor, widths: list[int]) -> dict:
    """Ridgeless fits on the first p ≤ n columns from one QR; rank-deficient widths fall back to pinv.

    Dead features (zero on every training input) get β = 0, as in the min-norm solution, and are left
    out of the QR so that one of them does not make every wider fit rank deficient.
    """
    live = (features != 0).any(0)
    keep = live.nonzero().squeeze(1)
    q, r = torch.linalg.qr(features[:, keep])
    projected = q.T @ y
    diagonal = r.diagonal().abs()
    betas = {}
    for p in widths:
        k = int(live[:p].sum())
        beta = torch.zeros(p, y.shape[1], dtype=y.dtype, device=y.device)
        if k and diagonal[:k].min() > RANK_TOLERANCE * diagonal[:k].max():
            beta[keep[:k]] = torch.linalg.solve_triangular(r[:k, :k], projected[:k], upper=True)
        elif k:
            beta = ridge_solve(features[:, :p], y, 0.0)
        betas[p] = beta
    return betas


def spd_solve(gram: torch.Tensor, y: torch.Tensor, ridge: float) -> torch.Tensor | None:
    """(G + ridge·I)⁻¹ y by Cholesky, or None when G is too ill-conditioned for that to be accurate.

    The caller then solves that width from its features, as a fit alone would: pinv of the Gram
    matrix would discard directions (singular values below √eps) that pinv of the features keeps.
    """
    if ridge:
        gram = gram + ridge * torch.eye(len(gram), dtype=gram.dtype, device=gram.device)
    factor, info = torch.linalg.cholesky_ex(gram)
    diagonal = factor.diagonal()
    if int(info) == 0 and diagonal.min() > CHOLESKY_TOLERANCE * diagonal.max():
        return torch.cholesky_solve(y, factor)
    return None
