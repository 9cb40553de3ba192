"""The whole batch of a distributed step, for losses that compare the samples of a batch."""
import torch
import torch.distributed as dist


def gather_batch(x: torch.Tensor) -> torch.Tensor:
    """Concatenate ``x`` of every rank along dim 0 (rank order); the local rows keep autograd.

    Losses that rank or pair the samples of a batch (CCAM's SimMax / SimMin in LCA-MD's TFCM)
    change with the batch they see: the released code computes them on the whole
    ``nn.DataParallel`` batch. Under DDP every rank computes the loss ``L`` of the gathered
    batch (the same value on all ranks); the other ranks' rows are constants here, so the
    local rows receive ``dL/dx_local``. DDP averages parameter gradients over the ``N``
    ranks, so those rows' gradient is multiplied by ``N``: the averaged gradient is then the
    gradient of ``L``, i.e. N ranks x B/N samples reproduce one batch of B (loss and gradient).
    Ranks may hold different numbers of rows. Without an initialised process group (or with
    one rank) ``x`` is returned as is.

    Args:
        x (Tensor): ``(n_rank, ...)`` rows of this rank.

    Returns:
        Tensor: ``(sum of n_rank, ...)`` rows of all ranks.
    """
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return x
    world, rank = dist.get_world_size(), dist.get_rank()
    count = torch.tensor([x.shape[0]], device=x.device)
    counts = [torch.zeros_like(count) for _ in range(world)]
    dist.all_gather(counts, count)
    counts = [int(c) for c in counts]
    padded = x.detach()
    if x.shape[0] < max(counts):
        padded = torch.cat([padded, padded.new_zeros((max(counts) - x.shape[0], ) +
                                                     tuple(x.shape[1:]))])
    parts = [torch.empty_like(padded) for _ in range(world)]
    dist.all_gather(parts, padded.contiguous())
    parts = [part[:n] for part, n in zip(parts, counts)]
    local = x
    if x.requires_grad:
        local = x.clone()  # a view of its own: only the gradient through the gather is scaled
        local.register_hook(lambda grad: grad * world)
    parts[rank] = local
    return torch.cat(parts)
