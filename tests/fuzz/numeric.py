"""Finite differences with kink detection, and the tolerances every numeric comparison uses."""
from __future__ import annotations

import warnings

import numpy as np

from . import suite
from .suite import copy_args, flatten

FINE, CHECK, COARSE = 1e-6, 1e-5, 1e-4   # relative FD steps: compared, noise estimate, kink detection
FD_RTOL, FD_ATOL = 1e-5, 1e-6            # atol is relative to the size of the terms in J·v
KINK_RTOL = 1e-3                         # FINE vs COARSE beyond this: not smooth here, skip FD
VALUE_RTOL, VALUE_ATOL = 1e-8, 1e-10     # srcgrad's primal vs the plain function
BACKEND_RTOL = 1e-8                      # python vs numba backend
ROUNDING_STEP = 1e-15                     # relative input change (a few ulps) that measures rounding amplification
DOT_RTOL = 1e-9                          # <Jv, w> vs <v, Jᵀw>
DOT_ATOL = 1e-11   # floor: a function that is zero up to rounding (10:1584:0 sums t0**2 * (linspace - 1),
                   # exactly 0) gives both sides rounding noise of its intermediates, up to ~1e-12


class FiniteDifferences:
    """Central-difference Jacobians of f at args, computed on demand."""

    def __init__(self, f, args, wrt):
        self.f, self.args, self.wrt = f, args, wrt
        self._jacobians = {}
        self._value_spread = None

    def jacobian(self, eps):
        if eps not in self._jacobians:
            self._jacobians[eps] = self._compute(eps)
        return self._jacobians[eps]

    def _compute(self, eps):
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                J = suite.numeric_jacobian(self.f, self.args, self.wrt, eps)
        except Exception:
            return None
        return J if np.all(np.isfinite(J)) else None

    @property
    def smooth(self) -> bool:
        """Differentiable at the sample as far as FD can tell: two step sizes agree loosely, and a
        much finer step agrees with the fine one as closely as the derivative check requires (a
        jump of `//` or `floor` inside both wider stencils moves them alike: 4:288:0)."""
        if self.on_a_rounding_decided_branch():
            return False
        fine, coarse, finest = self.jacobian(FINE), self.jacobian(COARSE), self.jacobian(FINE / 100)
        if fine is None or coarse is None or finest is None or np.max(np.abs(fine), initial=0.0) > 1e8:
            return False
        scale = 1.0 + np.max(np.abs(fine), initial=0.0)
        if not np.all(np.abs(fine - coarse) <= KINK_RTOL * np.abs(fine) + 1e-5 * scale):
            return False
        return bool(np.all(np.abs(fine - finest) <= 10 * FD_RTOL * np.abs(fine) + 1e-6 * scale))

    def value_spread(self):
        """(f's flat value, how far a few ulps of input move it), measured once; None if f raised."""
        if self._value_spread is None:
            try:
                value = flatten(self.f(*copy_args(self.args)))
                self._value_spread = value, rounding_spread(lambda args: flatten(self.f(*args)), self.args)
            except Exception:
                self._value_spread = False
        return self._value_spread or None

    def on_a_rounding_decided_branch(self) -> bool:
        """A few ulps of input move the value by far more than rounding could: the point sits on a
        jump (21:4235:0 branches on `a >= np.mean(np.ones((3, 2)) * a)`, a tie rounding decides)."""
        measured = self.value_spread()
        return measured is not None and bool(np.any(measured[1] > 1e-9 * (1.0 + np.abs(measured[0]))))

    def check_forward(self, got, v, slack=0.0) -> str | None:
        """None if `got` matches J·v (give or take `slack`), else the difference."""
        return self._check(got, lambda J: J @ v, lambda J: np.abs(J) @ np.abs(v), slack)

    def check_reverse(self, got, w, slack=0.0) -> str | None:
        """None if `got` matches Jᵀw (give or take `slack`), else the difference."""
        return self._check(got, lambda J: J.T @ w, lambda J: np.abs(J).T @ np.abs(w), slack)

    def _check(self, got, apply, magnitude, slack=0.0):
        fine = self.jacobian(FINE)
        want = apply(fine)
        tolerance = FD_RTOL * np.abs(want) + FD_ATOL * (1.0 + np.max(magnitude(fine), initial=0.0)) + slack
        err = np.abs(got - want)
        if np.all(err <= tolerance):
            return None
        other = self.jacobian(CHECK)
        noise = np.abs(want - apply(other)) if other is not None else np.inf
        if np.all(err <= tolerance + 10.0 * noise):
            return None   # the finite differences themselves are that noisy here
        return differences(got, want)


def rounding_spread(evaluate, args, trials: int = 3) -> np.ndarray:
    """Elementwise largest change of evaluate(args) (a flat vector) when every float input moves by a few ulps.

    Reordered or fused rounding (numba contracts a*b + c into one FMA) moves an ill-conditioned
    program's results by about this much (17:1750:0 squares its values six times, then takes
    sin(h)*h of h ~ 2e4 three times: a 4-ulp change of the inputs moves its value by 2e-5 relative)."""
    base = evaluate(copy_args(args))
    rng = np.random.default_rng(0)
    spread = np.zeros_like(base)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for _ in range(trials):
            try:
                spread = np.maximum(spread, np.abs(evaluate(tuple(_nudged(a, rng) for a in args)) - base))
            except Exception:
                break   # a nudge left the domain: keep what the others measured
    return np.where(np.isfinite(spread), spread, 0.0)


def _nudged(arg, rng):
    if isinstance(arg, (bool, int)):
        return arg
    if isinstance(arg, np.ndarray):
        return arg * (1.0 + ROUNDING_STEP * rng.standard_normal(arg.shape))
    return float(arg * (1.0 + ROUNDING_STEP * rng.standard_normal()))


def mismatch(got, want, rtol, atol_scale=0.0, atol=0.0) -> str | None:
    """None if flat vectors agree to rtol (plus atol, plus atol_scale times the largest |want|)."""
    if got.shape != want.shape:
        return f"sizes differ: {got.size} values, expected {want.size}"
    scale = np.max(np.abs(want), initial=0.0)
    tolerance = rtol * np.abs(want) + atol + atol_scale * (1.0 + scale)
    if np.all(np.abs(got - want) <= tolerance):
        return None
    return differences(got, want)


def differences(got, want) -> str:
    err = np.abs(got - want)
    k = int(np.nanargmax(err)) if np.any(np.isfinite(err)) else 0
    head = f"max |diff| {err[k]:.3e} at flat index {k}: got {got[k]!r}, expected {want[k]!r}"
    if got.size <= 16:
        head += f"\n  got      {np.array2string(got, precision=10, max_line_width=200)}" \
                f"\n  expected {np.array2string(want, precision=10, max_line_width=200)}"
    return head
