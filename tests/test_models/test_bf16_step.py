"""One bfloat16 training step (what ``--amp`` runs) is finite and close to the float32 step.

The models of ``test_method_numerics`` (deterministic weights, no dropout), in float32,
take one ``AutocastOptimWrapper`` step: forward and losses under bfloat16 autocast,
backward, SGD step. bfloat16 keeps 8 significant bits (relative rounding 2**-9 per
operation), so across a few dozen layers the losses and gradient norms agree with the
float32 step to a few percent; small terms (differences of means, clamped cosines,
whose ``-log`` derivatives amplify relative errors by ``s / (1 - s)``) to ~10 % of
themselves or 2 % of the total loss; gradient norms to ~20 %. A float32 island that is
lost (cosines clamped to ``1 - 5e-4``, which bfloat16 rounds to 1 and makes
``-log(1 - s)`` infinite, Newton-Schulz in bfloat16, ...) shows up as a non-finite value
or a gross difference.
"""
import pytest
import torch
from mmengine.optim import build_optim_wrapper
from test_method_numerics import (
    CASES,
    _deterministic_weights,
    _legacy_param_name,
    _no_dropout,
    _samples,
    _seed_da_centres,
)

from wsol_mm.registry import MODELS

# Every method family once (the crop cases share their wrapper; DA needs seeded centres).
BF16_CASES = ['cam_inception_v3', 'crop_resnet50_caam', 'brid_resnet50', 'da_resnet50',
              'tscam_deit_t', 'scm_deit_t', 'lcamd_deit_t']
LOSS_RTOL, TOTAL_RTOL, GRAD_RTOL = 0.1, 0.02, 0.25


def _step(name: str, dtype: str) -> tuple:
    cfg, size = CASES[name]
    model = MODELS.build(cfg)
    key_of = _legacy_param_name(model)
    _deterministic_weights(model, lambda k: key_of(k) or k)
    _no_dropout(model)
    g = torch.Generator().manual_seed(7)
    x = torch.randn(2, 3, size, size, generator=g)
    x[:, :, size // 4:size // 2, size // 8:size // 2] += 2.0
    _seed_da_centres(model, x)
    model.train()
    wrapper_type = 'AutocastOptimWrapper' if dtype == 'bfloat16' else 'OptimWrapper'
    wrapper = build_optim_wrapper(model, dict(type=wrapper_type,
                                              optimizer=dict(type='SGD', lr=0.0)))
    torch.manual_seed(1234)
    with wrapper.optim_context(model):
        losses = model.loss(x, _samples())
    total = sum(v for k, v in losses.items() if 'loss' in k)
    wrapper.backward(total)
    grads = [p.grad.double().square().sum() for p in model.parameters() if p.grad is not None]
    wrapper.step()
    return {k: float(v.detach()) for k, v in losses.items()}, float(sum(grads).sqrt())


@pytest.mark.parametrize('name', BF16_CASES)
def test_bf16_step_finite_and_close_to_float32(name):
    ref_losses, ref_grad = _step(name, 'float32')
    losses, grad = _step(name, 'bfloat16')
    assert set(losses) == set(ref_losses)
    scale = TOTAL_RTOL * abs(sum(v for k, v in ref_losses.items() if 'loss' in k))
    for key, ref in ref_losses.items():
        val = losses[key]
        assert torch.isfinite(torch.tensor(val)), f'{name}: {key} is {val} in bfloat16'
        assert abs(val - ref) <= LOSS_RTOL * abs(ref) + scale, (name, key, val, ref)
    assert torch.isfinite(torch.tensor(grad)), f'{name}: non-finite gradient in bfloat16'
    assert abs(grad - ref_grad) <= GRAD_RTOL * ref_grad, (name, grad, ref_grad)
