"""Replica (state-evolution) theory of L2-regularized logistic regression on the binary Gaussian mixture.

Mignacco, Krzakala, Lu, Urbani, Zdeborová 2020 (arXiv 2002.11544), in DDX's conventions: labels
y = ±1 (+1 with probability ρ), x = y·v/√d + √Δ·z with ‖v‖² = d, objective Σᵢ ℓ(yᵢ(w·xᵢ/√d + b)) +
(λ/2)‖w‖², ℓ(u) = log(1 + e^(−u)), sample ratio α = n/d. Order parameters m = w·v/d, q = Δ‖w‖²/d, the
response V, the bias b; the test error is ρ·H((m + b)/√q) + (1 − ρ)·H((m − b)/√q).
"""

import math
import time
from dataclasses import astuple, dataclass, replace
from functools import lru_cache

import numpy as np

from engine.datasets.gaussian_mixture import linear_error

# Expectations over ξ ~ N(0, 1): the trapezoid rule on a uniform grid (exponentially accurate for
# smooth integrands under a Gaussian). Not Gauss–Hermite: near separability √q reaches tens to
# hundreds while the integrands change over |Δω| ≈ 1, a feature 1/√q wide in ξ that 80 Hermite nodes
# (spaced ≈ 0.3 near 0) step over, and the fixed point then wanders.
NODES = np.linspace(-9.0, 9.0, 1801)
WEIGHTS = np.exp(-0.5 * NODES**2) / np.exp(-0.5 * NODES**2).sum()
DAMPING = 0.5
TOLERANCE = 1e-9
DAMPED_STEPS = 20
NEWTON_STEPS = 50
ROUNDS = 5
MAX_HALVINGS = 10
SOLVE_SECONDS = 30.0  # one theory value may take this long; past it (a pathological λ, α) it is given up
DEADLINE = [math.inf]  # when the value being solved is given up (set by `logistic_error`)
MAX_STEP = 2.0
PATH_START = 0.05  # α where a path of warm starts begins: far from any threshold, a cold start converges


@dataclass(frozen=True)
class State:
    """A point of the fixed-point iteration: overlaps m, q = Δ‖w‖²/d, response V and bias b."""

    m: float = 0.1
    q: float = 0.1
    V: float = 1.0
    b: float = 0.0

    def error(self, rho: float) -> float:
        """Test error of the classifier these overlaps describe (q already carries Δ)."""
        return linear_error(self.m, self.q, self.b, rho, 1.0)


def sigmoid(u: np.ndarray) -> np.ndarray:
    return 0.5 * (1 + np.tanh(0.5 * u))  # no overflow for any u


def softplus(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def margin(omega: np.ndarray, V: float) -> np.ndarray:
    """The proximal margin u solving u − ω − V·σ(−u) = 0 (monotone in u, root in [ω, ω + V]).

    Plain Newton in u overshoots and cycles once V is large (σ saturates). In r = log σ(−u) the
    equation reads K(r) = ω + V·eʳ + r − log(1 − eʳ) = 0 with K increasing and convex on r < 0, so
    Newton started right of the root (r = log σ(−ω), where K ≥ 0) decreases monotonically onto it:
    no bracket or bisection needed, about 20 steps at V = 10⁷.
    """
    # Where ω + V < −30, σ(−u) = 1 to double precision on the whole bracket, so u = ω + V; elsewhere
    # u ≥ −36 and r ≤ −1e-16 at the root, so clamping the start there keeps it right of the root.
    hopeless = omega + V < -30
    solved = np.where(hopeless, 0.0, omega)
    r = np.minimum(-softplus(solved), -1e-16)
    for _ in range(100):
        e, rest = np.exp(r), -np.expm1(r)
        step = (solved + V * e + r - np.log(rest)) / (V * e + 1 + e / rest)
        r = r - step
        if np.max(np.abs(step)) < 1e-13:
            break
    return np.where(hopeless, omega + V, solved + V * np.exp(r))


def channel(state: State, b: float, rho: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per label and quadrature node: label y, weight, f = y·σ(−u) and ℓ″/(1 + V·ℓ″)."""
    y = np.repeat([1.0, -1.0], len(NODES))
    weight = np.concatenate([rho * WEIGHTS, (1 - rho) * WEIGHTS])
    h = y * state.m + math.sqrt(state.q) * np.tile(NODES, 2)
    u = margin(y * (h + b), state.V)
    curvature = sigmoid(u) * sigmoid(-u)
    return y, weight, y * sigmoid(-u), curvature / (1 + state.V * curvature)


def stationary_bias(state: State, rho: float) -> tuple[float, tuple]:
    """The bias b with E[f] = 0 (the loss is stationary in b), and the channel there.

    E[f] falls from ρ (b → −∞) to −(1 − ρ) (b → +∞) with slope −E[ℓ″/(1 + Vℓ″)], so Newton steps
    (capped, so that a flat slope far out cannot throw b away) reach the one root.
    """
    b, cap = state.b, 1 + math.sqrt(state.q)
    for _ in range(100):
        found = channel(state, b, rho)
        mean, slope = float(found[1] @ found[2]), float(found[1] @ found[3])
        if abs(mean) < 1e-12:
            break
        b += max(-cap, min(cap, mean / max(slope, 1e-300)))
    return b, found


def update(state: State, alpha: float, delta: float, ridge: float, rho: float) -> State:
    """The undamped map: the bias, the channel's conjugates, then the L2 prior's overlaps."""
    b, (y, weight, f, stiffness) = stationary_bias(state, rho)
    m_hat, q_hat, v_hat = alpha * (weight @ (y * f)), alpha * (weight @ f**2), alpha * (weight @ stiffness)
    denominator = ridge + delta * v_hat
    m, q = m_hat / denominator, delta * (delta * q_hat + m_hat**2) / denominator**2
    return State(float(m), float(q), float(delta / denominator), b)


def coordinates(state: State) -> np.ndarray:
    """(log m, log q, log V): all span decades near separability (m = E[σ(−u)]·α/(λ + ΔV̂) > 0)."""
    return np.log([state.m, state.q, state.V])


def at(x: np.ndarray, like: State) -> State:
    return State(*(float(v) for v in np.exp(x)), like.b)


def residual(x: np.ndarray, state: State, problem: tuple) -> tuple[np.ndarray, State]:
    """G(x) − x for the map G in coordinates, and G's output (which carries the solved bias)."""
    new = update(at(x, state), *problem)
    return coordinates(new) - x, new


def newton_step(state: State, problem: tuple) -> tuple[State, float]:
    """One Newton step on G(x) − x = 0 (finite-difference Jacobian, backtracking); new state and ‖G(x) − x‖.

    Near separability at small λ the damped iteration creeps along a slow mode (thousands of steps,
    or a slow limit cycle); Newton's method takes that mode head on.
    """
    x = coordinates(state)
    r, image = residual(x, state, problem)
    jacobian = np.empty((3, 3))
    for k in range(3):
        h = 1e-6 * (1 + abs(x[k]))
        shifted = x.copy()
        shifted[k] += h
        jacobian[:, k] = (residual(shifted, image, problem)[0] - r) / h
    try:
        direction = np.linalg.solve(jacobian, -r)
    except np.linalg.LinAlgError:
        return image, float(np.linalg.norm(r))
    direction *= min(1.0, MAX_STEP / np.max(np.abs(direction)))  # a trust region: q, V change ≤ e² per step
    for scale in 0.5 ** np.arange(12):
        trial = x + scale * direction
        r_trial, image_trial = residual(trial, image, problem)
        if np.linalg.norm(r_trial) < np.linalg.norm(r):
            return replace(at(trial, image_trial), b=image_trial.b), float(np.linalg.norm(r_trial))
    return image, float(np.linalg.norm(r))


def damped(state: State, problem: tuple, steps: int) -> State:
    """`steps` damped iterations of the map."""
    for _ in range(steps):
        new = update(state, *problem)
        state = State(
            *(DAMPING * a + (1 - DAMPING) * o for a, o in zip(astuple(new)[:3], astuple(state)[:3], strict=True)), new.b
        )
    return state


def solve(alpha: float, rho: float, delta: float, ridge: float, start: State | None = None) -> State:
    """The fixed point at sample ratio α, from `start` (a warm start) or a cold one.

    Newton's method finishes; damped steps come first on a cold start, and again whenever Newton
    stalls (a warm start across a threshold, where the solution moves fast, can sit outside its
    basin). Raises RuntimeError when neither converges (λ = 0 below separability: ‖w‖ diverges).
    """
    if time.monotonic() > DEADLINE[0]:
        raise RuntimeError(f"replica fixed point at α = {alpha:g}, λ = {ridge:g} took over {SOLVE_SECONDS:g} s")
    problem = (alpha, delta, ridge, rho)
    state = start or damped(State(), problem, DAMPED_STEPS)
    for _ in range(ROUNDS):
        best = math.inf
        for _ in range(NEWTON_STEPS):
            state, size = newton_step(state, problem)
            if size < TOLERANCE:
                return state
            if size > 0.9 * best:
                break
            best = size
        state = damped(state, problem, DAMPED_STEPS)
    raise RuntimeError(f"replica fixed point at α = {alpha:g}, λ = {ridge:g} did not converge")


def advance(state: State | None, low: float, high: float, params: tuple, depth: int = 0) -> State:
    """The fixed point at α = high, warm-started from `state` (the one at α = low).

    Where the solution moves too fast for one warm start (λ small, α crossing separability), the step
    is halved until it does not.
    """
    try:
        return solve(high, *params, start=state)
    except RuntimeError:
        if depth == MAX_HALVINGS:
            raise
    middle = 0.5 * (low + high)
    return advance(advance(state, low, middle, params, depth + 1), middle, high, params, depth + 1)


def curve(alphas, rho: float, delta: float, ridge: float) -> list[State]:
    """Fixed points along increasing α, each warm-started from the last (a path from PATH_START)."""
    path = sorted(set(np.geomspace(PATH_START, max(alphas), 40)) | set(alphas))
    state, found, low = None, {}, PATH_START
    for alpha in path:
        state = advance(state, low, alpha, (rho, delta, ridge))
        found[alpha], low = state, alpha
    return [found[a] for a in alphas]


GRID = np.geomspace(PATH_START, 200.0, 31)  # warm-start stations shared by every α of a sweep


@lru_cache(maxsize=1024)
def station(k: int, rho: float, delta: float, ridge: float) -> State:
    """The fixed point at GRID[k], reached from GRID[k − 1] (cached, so a sweep walks the path once)."""
    start = station(k - 1, rho, delta, ridge) if k else None
    return advance(start, GRID[k - 1] if k else PATH_START, GRID[k], (rho, delta, ridge))


@lru_cache(maxsize=256)
def fixed_point(alpha: float, rho: float, delta: float, ridge: float) -> State:
    """The fixed point at one α, warm-started from the nearest station below it."""
    below = int(np.searchsorted(GRID, alpha, side="right")) - 1
    if below < 0:
        return solve(alpha, rho, delta, ridge)
    return advance(station(below, rho, delta, ridge), GRID[below], alpha, (rho, delta, ridge))


def sparse_problem(alpha: float, delta: float, ridge: float, eta: float) -> tuple[float, float, float]:
    """(α, Δ, λ) of the equivalent dense problem for a model training only a share η of its weights.

    With p = ηd trainable weights and the pre-activation w·x/√d, w·x/√d = w'·x'/√p for w' = ηw and x'
    a mixture in p dimensions with noise Δ/η; so α → α/η, Δ → Δ/η and, since (λ/2)‖w‖² = (λ/2η²)‖w'‖²,
    λ → λ/η².
    """
    return alpha / eta, delta / eta, ridge / eta**2


def logistic_error(alpha: float, rho: float, delta: float, ridge: float, eta: float = 1.0) -> float:
    """Theory test error of logistic regression (share η of weights trainable) trained on n = αd labels."""
    a, d, r = sparse_problem(alpha, delta, ridge, eta)
    DEADLINE[0] = time.monotonic() + SOLVE_SECONDS
    try:
        return fixed_point(a, rho, d, r).error(rho)
    finally:
        DEADLINE[0] = math.inf


def squared_shortfall(kappa: np.ndarray) -> np.ndarray:
    """E[(κ − g)₊²] for g ~ N(0, 1): (κ² + 1)Φ(κ) + κφ(κ)."""
    cdf = 0.5 * np.vectorize(math.erfc)(-kappa / math.sqrt(2))
    return (kappa**2 + 1) * cdf + kappa * np.exp(-0.5 * kappa**2) / math.sqrt(2 * math.pi)


def separability_threshold(rho: float, delta: float, eta: float = 1.0) -> float:
    """α_S: below it, n = αd mixture examples are linearly separable (with a bias) w.p. → 1.

    Gardner's volume (or Gordon's comparison) for w with ‖w‖²/d = 1 and overlap m = w·v/d: the
    margins yᵢ(w·xᵢ/√d + b) = m + yᵢb + √Δ·(m·sᵢ + √(1 − m²)·tᵢ) must all be ≥ 0, with sᵢ fixed by
    the data and tᵢ free; that is feasible iff α·E[(κ_y − g)₊²] ≤ 1 − m², κ_y = −(m + y·b)/√Δ. So
    α_S = max over (m, b) of (1 − m²)/E_y[(κ_y − g)₊²]; Δ → ∞ gives Cover's 2. A share η of the
    weights: α → α/η, Δ → Δ/η. Maximized on a grid, then on a finer one around the best cell.
    """
    delta = delta / eta
    m_range, b_range = (0.0, 0.999), (-4.0, 4.0)
    for _ in range(4):
        m, b = np.meshgrid(np.linspace(*m_range, 81), np.linspace(*b_range, 81), indexing="ij")
        cost = rho * squared_shortfall(-(m + b) / math.sqrt(delta))
        cost = cost + (1 - rho) * squared_shortfall(-(m - b) / math.sqrt(delta))
        ratio = (1 - m**2) / cost
        i, j = np.unravel_index(np.argmax(ratio), ratio.shape)
        dm, db = (m_range[1] - m_range[0]) / 20, (b_range[1] - b_range[0]) / 20
        m_range = (max(0.0, m[i, j] - dm), min(0.999999, m[i, j] + dm))
        b_range = (b[i, j] - db, b[i, j] + db)
    return float(eta * ratio[i, j])
