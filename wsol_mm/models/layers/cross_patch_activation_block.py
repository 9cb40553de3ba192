"""One graph-diffusion block of SCM (``Encoder``) / LCA-MD (``D_CPAB``)."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from wsol_mm.registry import MODELS
from wsol_mm.utils.typing_utils import OptMultiConfig

from ..utils.newton_schulz import DIVERGENCE_MODES, FALLBACK_CHECKS, guarded_newton_schulz
from ..utils.polynomial_newton_schulz import POLYNOMIAL_MAX_ITERS
from ..utils.precision import at_least_float32

#: How the Newton-Schulz step is evaluated (same maths, see the class docstring).
NS_SOLVERS = ('auto', 'eigen', 'loop', 'polynomial')


@MODELS.register_module()
class CrossPatchActivationBlock(BaseModule):
    """Diffuse a patch activation over a semantic-spatial graph and refine the class map.

    With ``X`` the class map ``(B, C, h, w)``, ``c`` the activation ``(B, h*w)`` and
    ``L`` the graph Laplacian (see ``patch_graph.py``):

    1. ``Sim`` = cosine similarity of the patches' C-vectors, ``(B, N, N)``;
    2. fusion ``F = L * (lambda * Sim - 1)`` (element-wise, ``lambda`` learnable);
    3. ``P = X_K^T`` where ``X_K`` is ``num_iters`` Newton-Schulz steps towards
       ``F^-1`` from ``ns_alpha * F^T`` (a fixed polynomial filter of ``F``);
    4. ``u = minmax(tanhshrink(P c / (t * max c)))`` with ``t`` learnable;
    5. ``X <- X + X * u`` and ``c <- c + u``.

    The whole block runs in at least float32 (also under AMP): the iteration
    squares its residual at every step.

    Args:
        num_iters (int): Newton-Schulz steps (16 in the first block, 4 after).
        threshold_init (float): initial ``t`` (LCA-MD 0.7, SCM 0.5).
        lambda_init (float): initial ``lambda``. Defaults to 1.0.
        ns_alpha (float): initial Newton-Schulz scale. Defaults to 0.002.
        on_divergence (str): ``'fallback'`` re-runs a diverged image from a
            provably contracting scale ``1 / (||F||_1 ||F||_inf)``; ``'raise'``
            raises ``FloatingPointError``. Defaults to 'fallback'.
        ns_solver (str): how step 3 is evaluated, with identical maths and gradient:
            ``'loop'`` (the released ``2K`` batched matrix products), ``'eigen'`` (``F``
            is symmetric: one eigendecomposition, see :class:`SymmetricNewtonSchulz`),
            ``'polynomial'`` (``X_K`` applied to ``c`` as ``2^(K+1) - 1`` row products,
            see ``polynomial_newton_schulz.py``; refused above ``POLYNOMIAL_MAX_ITERS``
            steps) or ``'auto'``: on CPU ``'polynomial'``
            up to ``POLYNOMIAL_MAX_ITERS`` (5) steps and ``'eigen'`` above, each several
            times faster than the loop there; ``'loop'`` on GPUs, whose batched products
            are cheap. Defaults to 'auto'.
        fallback_check (str): where ``'fallback'`` decides which images re-run, with
            identical values and gradients: ``'host'`` (one host synchronisation per
            block, a re-run only when an image diverged), ``'device'`` (no
            synchronisation: an extra, gradient-free solve first, every time; on a GPU
            a synchronisation stalls the queued work, which costs more) or ``'auto'``
            (``'host'`` on CPU, ``'device'`` elsewhere). With ``'eigen'`` either check
            needs one decomposition: the re-run reuses it; ``'polynomial'`` tests before
            it solves, so either check solves once. Defaults to 'auto'.
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self, num_iters: int, threshold_init: float = 0.7, lambda_init: float = 1.0,
                 ns_alpha: float = 0.002, on_divergence: str = 'fallback',
                 ns_solver: str = 'auto', fallback_check: str = 'auto',
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if on_divergence not in DIVERGENCE_MODES:
            raise ValueError(f'on_divergence must be one of {DIVERGENCE_MODES}, '
                             f'got "{on_divergence}"')
        if ns_solver not in NS_SOLVERS:
            raise ValueError(f'ns_solver must be one of {NS_SOLVERS}, got "{ns_solver}"')
        if ns_solver == 'polynomial' and num_iters > POLYNOMIAL_MAX_ITERS:
            rows = 2 ** (num_iters + 1) - 1
            raise ValueError(
                f"ns_solver='polynomial' takes 2^(K+1) - 1 row products ({rows} for "
                f'num_iters={num_iters}); it is for at most {POLYNOMIAL_MAX_ITERS} steps. '
                "Use ns_solver='auto' (the rows up to that, the eigenbasis above) or 'eigen'.")
        if fallback_check not in FALLBACK_CHECKS:
            raise ValueError(f'fallback_check must be one of {FALLBACK_CHECKS}, '
                             f'got "{fallback_check}"')
        self.ns_solver = ns_solver
        self.fallback_check = fallback_check
        self.num_iters = num_iters
        self.ns_alpha = ns_alpha
        self.on_divergence = on_divergence
        # Shape (1,) as the released `thred` / `_loss_rate` scalars.
        self.threshold = nn.Parameter(torch.full((1, ), float(threshold_init)))
        self.fusion_weight = nn.Parameter(torch.full((1, ), float(lambda_init)))
        # Images that fell back in the last forward (observable, never logged as a loss):
        # an int, or a 0-dim tensor on the device when the fallback is checked there.
        self.last_num_fallbacks = 0

    def forward(self, class_map: torch.Tensor, activation: torch.Tensor,
                laplacian: torch.Tensor):
        """Refine ``class_map`` ``(B, C, h, w)`` and ``activation`` ``(B, h*w)``.

        Args:
            class_map (Tensor): ``(B, C, h, w)``.
            activation (Tensor): ``(B, h*w)`` non-negative patch activation.
            laplacian (Tensor): ``(h*w, h*w)`` graph Laplacian.

        Returns:
            tuple: refined ``class_map`` and ``activation`` (float32, or float64
            for float64 inputs).
        """
        b, _, h, w = class_map.shape
        with torch.autocast(device_type=class_map.device.type, enabled=False):
            x = at_least_float32(class_map)
            act = at_least_float32(activation).reshape(b, h * w)
            tokens = F.normalize(x.flatten(2).transpose(1, 2), dim=-1)  # (B, N, C)
            sim = tokens @ tokens.transpose(1, 2)
            fused = laplacian.to(x) * (self.fusion_weight * sim - 1)
            on_cpu = x.device.type == 'cpu'
            check = self.fallback_check
            if check == 'auto':
                check = 'host' if on_cpu else 'device'
            update, self.last_num_fallbacks = guarded_newton_schulz(
                fused, self.num_iters, self.ns_alpha, self.on_divergence,
                name=type(self).__name__, vectors=act.unsqueeze(-1),
                solver=self.solver(on_cpu), check=check)
            update = update.squeeze(-1)  # P c = X_K^T c
            # Clamp: an all-zero activation (constant attention) would give 0 / 0.
            tau = self.threshold * act.amax(dim=1, keepdim=True).clamp_min(1e-12)
            update = minmax_normalize(F.tanhshrink(update / tau))
            x = x + x * update.view(b, 1, h, w)
            return x, act + update

    def solver(self, on_cpu: bool) -> str:
        """The solver ``ns_solver`` names, ``'auto'`` resolved for the device."""
        if self.ns_solver != 'auto':
            return self.ns_solver
        if not on_cpu:
            return 'loop'
        return 'polynomial' if self.num_iters <= POLYNOMIAL_MAX_ITERS else 'eigen'


def minmax_normalize(x: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Per-row ``(x - min) / (max - min)`` of ``(B, N)`` (a constant row becomes 0)."""
    low = x.amin(dim=1, keepdim=True)
    return (x - low) / (x.amax(dim=1, keepdim=True) - low).clamp_min(eps)
