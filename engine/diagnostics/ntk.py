"""The empirical neural tangent kernel of the baseline on a subset of training inputs (Dong et al.).

K_ij = Σ_c ⟨∂f_c(x_i)/∂θ, ∂f_c(x_j)/∂θ⟩. Its eigenvectors at initialization are the basis in which
the clean labels, the label noise and the training residual are measured; the residual is the
gradient of the loss with respect to the outputs (softmax − onehot for cross-entropy, logits −
onehot for squared loss), the quantity the linearized dynamics drive to zero along each eigenvector.

Label energies are measured on centred label columns: K's top eigenvector is nearly constant, and
uncentred one-hot labels would put their mean (about 1/C of their energy) on it whatever they are.
A control, the clean labels permuted across the inputs, shows what labels unrelated to the inputs
give: clean labels are informative only as far as their energy on the top eigenvectors exceeds it.

The linearized prediction (`linear_decay`) is what the baseline's residual energy would be if the
network stayed its own first-order Taylor expansion around initialization: each eigen-direction of
K₀ decays geometrically at a rate set by its eigenvalue. Where the measured residual departs from
it, the network has left the kernel picture.
"""

import numpy as np
import torch
import torch.nn.functional as F

from engine.budget import role_epochs, role_train, steps_per_epoch
from engine.diagnostics.base import register_diagnostic
from engine.diagnostics.ntk_gram import ntk_gram
from engine.models import FAMILIES
from engine.outcomes import Findings
from engine.seeds import torch_generator

SNAPSHOTS = 4


def energy(basis: torch.Tensor, signal: torch.Tensor) -> np.ndarray:
    """Σ_c (u_iᵀ s_c)² for each eigenvector u_i (columns of `basis`) and signal columns s_c."""
    return ((basis.T @ signal.to(basis.dtype)) ** 2).sum(1).cpu().numpy()


def centred(columns: torch.Tensor) -> torch.Tensor:
    """Label columns minus their mean over the examples."""
    return columns - columns.mean(0, keepdim=True)


def linear_decay(eigenvalues: np.ndarray, train, n_classes: int) -> np.ndarray | None:
    """Per-step factor (1 − η·λ_i) by which linearized training shrinks the residual along eigenvector i.

    `eigenvalues` are K₀'s on m = len(eigenvalues) of the n training inputs, summed over C classes.
    The loss is the mean over a mini-batch, so in expectation one step moves the outputs on S by
    −η·Θ_S r / n with Θ the per-class kernel, K/C for a wide network at initialization; Θ_S/n has
    about the eigenvalues of K/(C·m) on the m-point subset (exactly when m = n). Squared loss
    (½‖f − y‖², residual f − y) takes this as it is; cross-entropy's residual softmax(f) − y moves by
    the softmax Jacobian, ≈ (I − 11ᵀ/C)/C while outputs are near uniform, so one more factor 1/C.
    SGD momentum μ multiplies the step by 1/(1 − μ) once its average has built up. Adam rescales
    every coordinate by its own running gradient size, which no fixed kernel describes: None.
    """
    if train.optimizer != "sgd":
        return None
    rate = train.lr / (1 - train.momentum) / (n_classes * len(eigenvalues))
    if train.loss == "cross_entropy":
        rate /= n_classes
    return 1 - rate * eigenvalues


class NTKWatcher:
    """Eigenbasis of K at initialization, K's spectrum at snapshots, and residual energy per epoch."""

    def __init__(self, cfg, data):
        n = min(cfg.train.ntk_points, len(data.x_train))
        self.x, self.loss = data.x_train[:n], cfg.train.loss
        self.train, self.n_train, self.n_classes = role_train(cfg, "baseline"), len(data.x_train), data.n_classes
        # the vanilla baseline, and the self-distilled student when distill.mode = 'self'
        self.roles = ("student", "baseline") if cfg.distill.mode == "self" else ("baseline",)
        self.arrays: dict[str, np.ndarray] = {}
        self.noisy = F.one_hot(data.y_train[:n], data.n_classes).to(torch.float64)
        self.clean = F.one_hot(data.y_train_clean[:n], data.n_classes).to(torch.float64)
        shuffle = torch.randperm(n, generator=torch_generator(cfg.data.seed, "ntk-control")).to(self.clean.device)
        self.control = self.clean[shuffle]
        epochs = role_epochs(cfg, "baseline")
        step = max(1, epochs // SNAPSHOTS)
        self.snapshots = {0, epochs, *range(step, epochs, step)}
        self.basis = None
        self.spectra: list[np.ndarray] = []
        self.snapshot_epochs: list[int] = []
        self.residuals: dict[str, list[np.ndarray]] = {}

    def residual(self, learner) -> torch.Tensor:
        with torch.no_grad():
            out = learner.logits(self.x).to(torch.float64)
        return (torch.softmax(out, 1) if self.loss == "cross_entropy" else out) - self.noisy

    def start(self, learner) -> None:
        """Diagonalize K at initialization (the student and baseline share their initial weights)."""
        values, vectors = torch.linalg.eigh(ntk_gram(learner.module, self.x))
        self.initial_values, self.basis = values.flip(0), vectors.flip(1)
        self.arrays["ntk_clean_energy"] = energy(self.basis, centred(self.clean))
        self.arrays["ntk_noise_energy"] = energy(self.basis, centred(self.noisy - self.clean))
        self.arrays["ntk_control_energy"] = energy(self.basis, centred(self.control))

    def observe(self, role: str, epoch: int, learner) -> None:
        """Record the residual's energy per eigenvector, and K's spectrum at the baseline's snapshots."""
        if self.basis is None:
            self.start(learner)
        if role == "baseline" and epoch in self.snapshots:
            values = self.initial_values if epoch == 0 else torch.linalg.eigvalsh(ntk_gram(learner.module, self.x))
            self.spectra.append(values.sort(descending=True).values.cpu().numpy())
            self.snapshot_epochs.append(epoch)
            self.arrays["ntk_eigenvalues"] = np.stack(self.spectra)
            self.arrays["ntk_snapshot_epochs"] = np.array(self.snapshot_epochs)
        self.residuals.setdefault(role, []).append(energy(self.basis, self.residual(learner)))
        self.arrays[f"ntk_residual_{role}"] = np.stack(self.residuals[role])

    def findings(self) -> Findings:
        arrays = dict(self.arrays)
        if "ntk_residual_baseline" in arrays:
            arrays |= self.linearized(arrays["ntk_residual_baseline"][0])
        return Findings(arrays=arrays)

    def linearized(self, start: np.ndarray) -> dict[str, np.ndarray]:
        """The baseline's residual energy per epoch predicted from K₀ alone: start · decay^(2·steps)."""
        decay = linear_decay(self.initial_values.cpu().numpy(), self.train, self.n_classes)
        if decay is None:
            return {}
        steps = np.arange(self.train.epochs + 1) * steps_per_epoch(self.n_train, self.train.batch_size)
        with np.errstate(over="ignore"):  # a rate past 2/λ diverges, and the prediction says so
            return {"ntk_linear_baseline": start * decay[None, :] ** (2 * steps[:, None])}


def applies(cfg) -> bool:
    return cfg.train.ntk_points > 0 and FAMILIES[cfg.student.model].gradient


register_diagnostic(
    "ntk",
    applies,
    "empirical NTK of the baseline on train.ntk_points inputs: spectrum, label/noise energy, residual per epoch",
    watch=NTKWatcher,
)
