"""Multi-kernel RBF maximum mean discrepancy (linear-time estimate), as used by DA-WSOL."""
import torch
import torch.nn as nn

from wsol_mm.registry import MODELS


@MODELS.register_module()
class MultiKernelMMDLoss(nn.Module):
    """Batched multi-kernel Gaussian MMD between paired source/target sets.

    For each set pair ``(s, t)`` of ``n`` samples each, the kernel is the sum of
    ``num_kernels`` Gaussians ``exp(-d2 / b_i)`` over the squared distances of the
    ``2n`` pooled samples, with ``b_i = b * mul**(i - num_kernels // 2)`` and ``b``
    the mean off-diagonal squared distance (no gradient through ``b``). The
    estimate is the linear-time one of DA-WSOL (cyclic pairs ``j, j+1``)::

        mmd = 1/n sum_j k(s_j, s_j+1) + k(t_j, t_j+1) - k(s_j, t_j+1) - k(s_j+1, t_j)

    The loss is the mean over the set pairs (0 when there is none, where the
    released code divided by zero).

    Args:
        num_kernels (int): number of bandwidths. Defaults to 5.
        kernel_mul (float): ratio between consecutive bandwidths. Defaults to 2.
        loss_weight (float): multiplier. Defaults to 1.0.
    """

    def __init__(self, num_kernels: int = 5, kernel_mul: float = 2.0,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if num_kernels < 1 or kernel_mul <= 0:
            raise ValueError(f'MultiKernelMMDLoss: need num_kernels >= 1 and kernel_mul > 0, '
                             f'got {num_kernels}, {kernel_mul}')
        self.num_kernels, self.kernel_mul, self.loss_weight = num_kernels, kernel_mul, loss_weight

    def kernel(self, source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Summed Gaussian kernel matrix ``(S, 2n, 2n)`` of the pooled samples."""
        total = torch.cat([source, target], dim=1)  # (S, 2n, D)
        d2 = torch.cdist(total, total).pow(2)
        m = total.shape[1]
        bandwidth = d2.detach().sum(dim=(1, 2)) / (m * m - m)  # (S, )
        bandwidth = bandwidth / self.kernel_mul ** (self.num_kernels // 2)
        scales = self.kernel_mul ** torch.arange(self.num_kernels, device=total.device,
                                                 dtype=total.dtype)
        bws = bandwidth[:, None] * scales[None]  # (S, K)
        # Guard identical samples (bandwidth 0): the kernel is then exp(-0/eps) = 1.
        bws = bws.clamp_min(torch.finfo(total.dtype).tiny)
        return torch.exp(-d2[:, None] / bws[:, :, None, None]).sum(dim=1)

    def forward(self, source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """MMD of ``(S, n, D)`` source sets against ``(S, n, D)`` target sets."""
        if source.shape != target.shape:
            raise ValueError(f'MultiKernelMMDLoss: source {tuple(source.shape)} and target '
                             f'{tuple(target.shape)} sets must have the same shape')
        if source.shape[0] == 0:
            return source.sum() * 0.0
        n = source.shape[1]
        k = self.kernel(source, target)
        i = torch.arange(n, device=source.device)
        j = (i + 1) % n
        per_set = (k[:, i, j] + k[:, i + n, j + n] - k[:, i, j + n] - k[:, j, i + n]).mean(dim=1)
        return self.loss_weight * per_set.mean()
