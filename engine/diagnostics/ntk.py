"""The empirical neural tangent kernel of the baseline on a subset of training inputs (Dong et al.).

K_ij = Σ_c ⟨∂f_c(x_i)/∂θ, ∂f_c(x_j)/∂θ⟩. Its eigenvectors at initialization are the basis in which
the clean labels, the label noise and the training residual are measured; the residual is the
gradient of the loss with respect to the outputs (softmax − onehot for cross-entropy, logits −
onehot for squared loss), the quantity the linearized dynamics drive to zero along each eigenvector.

Label energies are measured on centred label columns: K's top eigenvector is nearly constant, and
uncentred one-hot labels would put their mean (about 1/C of their energy) on it whatever they are.
A control, the clean labels permuted across the inputs, shows what labels unrelated to the inputs
give: clean labels are informative only as far as their energy on the top eigenvectors exceeds it.
"""

import numpy as np
import torch
import torch.nn.functional as F
from torch.func import functional_call, jacrev, vmap

from engine.budget import role_epochs
from engine.diagnostics.base import register_diagnostic
from engine.models import FAMILIES
from engine.outcomes import Findings
from engine.seeds import torch_generator

SNAPSHOTS = 4
CHUNK = 64


def ntk_gram(module: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Empirical NTK Gram matrix (n × n, float64), summed over output classes, built class by class."""
    params = {k: v.detach() for k, v in module.named_parameters()}

    def output(p, xi, c):
        return functional_call(module, p, (xi.unsqueeze(0),))[0, c]

    gram = torch.zeros(len(x), len(x), dtype=torch.float64, device=x.device)
    n_classes = module(x[:1]).shape[1]
    for c in range(n_classes):
        rows = []
        for start in range(0, len(x), CHUNK):
            jac = vmap(jacrev(output), in_dims=(None, 0, None))(params, x[start : start + CHUNK], c)
            rows.append(torch.cat([j.reshape(len(j), -1) for j in jac.values()], 1))
        flat = torch.cat(rows).to(torch.float64)
        gram += flat @ flat.T
    return gram


def energy(basis: torch.Tensor, signal: torch.Tensor) -> np.ndarray:
    """Σ_c (u_iᵀ s_c)² for each eigenvector u_i (columns of `basis`) and signal columns s_c."""
    return ((basis.T @ signal.to(basis.dtype)) ** 2).sum(1).cpu().numpy()


def centred(columns: torch.Tensor) -> torch.Tensor:
    """Label columns minus their mean over the examples."""
    return columns - columns.mean(0, keepdim=True)


class NTKWatcher:
    """Eigenbasis of K at initialization, K's spectrum at snapshots, and residual energy per epoch."""

    def __init__(self, cfg, data):
        n = min(cfg.train.ntk_points, len(data.x_train))
        self.x, self.loss = data.x_train[:n], cfg.train.loss
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
        return Findings(arrays=dict(self.arrays))


def applies(cfg) -> bool:
    return cfg.train.ntk_points > 0 and FAMILIES[cfg.student.model].gradient


register_diagnostic(
    "ntk",
    applies,
    "empirical NTK of the baseline on train.ntk_points inputs: spectrum, label/noise energy, residual per epoch",
    watch=NTKWatcher,
)
