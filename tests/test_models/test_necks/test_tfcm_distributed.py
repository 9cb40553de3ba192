"""LCA-MD's contrastive losses under DDP: 2 ranks x B/2 reproduce one process with batch B.

float64 throughout, so the only differences are summation orders (relative 1e-12 or so);
the tolerance 1e-10 leaves room for them and is far below any change of the loss (a sample
seen by the other rank, a different rank order in SimMax) that the gather prevents.
"""
import os
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn as nn
import torch.nn.functional as F

import wsol_mm.models  # noqa: F401  (registers the losses)
from wsol_mm.models.necks import TFCM
from wsol_mm.models.utils import gather_batch

TOL = dict(rtol=1e-10, atol=1e-12)
B, D, C, HW = 6, 5, 4, 3


def _batch():
    gen = torch.Generator().manual_seed(0)
    feats = torch.randn(B, D, HW, HW, generator=gen, dtype=torch.float64)
    attn = torch.rand(B, 1, HW, HW, generator=gen, dtype=torch.float64) * 1.5
    labels = torch.arange(B) % C
    return feats, attn, labels


def _model(gather_ranks: bool = True):
    torch.manual_seed(1)  # the same weights on every rank, as DDP broadcasts them
    head = nn.Conv2d(D, C, 1).double()
    tfcm = TFCM(C, gather_ranks=gather_ranks).double()
    return head, tfcm


def _step(rows: slice, with_ce: bool, gather_ranks: bool = True):
    """One training step on ``rows`` of the batch: the loss terms and the parameter grads."""
    feats, attn, labels = _batch()
    head, tfcm = _model(gather_ranks)
    maps = head(feats[rows])
    _, terms = tfcm.forward_train(maps, None, attn[rows])
    loss = sum(terms.values())
    if with_ce:  # a per-sample mean term: DDP's average of per-rank means is the batch mean
        loss = loss + F.cross_entropy(maps.mean((2, 3)), labels[rows])
    loss.backward()
    grads = {f'head.{k}': p.grad for k, p in head.named_parameters()}
    grads.update({f'tfcm.{k}': p.grad for k, p in tfcm.named_parameters()})
    return {k: v.detach() for k, v in terms.items()}, grads


def _worker(rank: int, world: int, port: int, out: str, splits, with_ce: bool,
            gather_ranks: bool) -> None:
    # a forked child must not enter the OpenMP pool the parent used (it would wait forever)
    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    dist.init_process_group('gloo', rank=rank, world_size=world)
    try:
        terms, grads = _step(slice(*splits[rank]), with_ce, gather_ranks)
        for grad in grads.values():  # what DDP does with the gradients
            dist.all_reduce(grad)
            grad /= world
        torch.save(dict(terms=terms, grads=grads), f'{out}.{rank}')
    finally:
        dist.destroy_process_group()


def _two_ranks(tmp_path, splits, with_ce: bool, gather_ranks: bool = True):
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    out = str(tmp_path / 'rank')
    # fork: the children reuse the parent's imports (spawn would re-import torch)
    mp.start_processes(_worker, args=(2, port, out, splits, with_ce, gather_ranks), nprocs=2,
                       join=True, start_method='fork')
    return [torch.load(f'{out}.{r}') for r in range(2)]


@pytest.mark.parametrize('splits, with_ce', [(((0, 3), (3, 6)), True),
                                             (((0, 4), (4, 6)), False)])
def test_two_ranks_reproduce_one_batch(tmp_path, splits, with_ce):
    """Even shares: the whole objective (TFCM terms + a CE mean) matches; uneven shares:
    the TFCM terms and their gradients still do."""
    terms, grads = _step(slice(0, B), with_ce)
    ranks = _two_ranks(tmp_path, splits, with_ce)
    for res in ranks:  # every rank computes the loss of the whole batch
        for key, value in terms.items():
            torch.testing.assert_close(res['terms'][key], value, **TOL)
    for key, value in grads.items():
        torch.testing.assert_close(ranks[0]['grads'][key], value, **TOL)
        torch.testing.assert_close(ranks[1]['grads'][key], value, **TOL)


def test_without_the_gather_each_rank_sees_its_share(tmp_path):
    """What the gather prevents: per-rank losses differ from the batch's."""
    terms, _ = _step(slice(0, B), False)
    ranks = _two_ranks(tmp_path, ((0, 3), (3, 6)), False, gather_ranks=False)
    own, _ = _step(slice(0, 3), False, gather_ranks=False)
    torch.testing.assert_close(ranks[0]['terms']['loss_tfcm_sim_min'],
                               own['loss_tfcm_sim_min'], **TOL)
    assert not torch.allclose(ranks[0]['terms']['loss_tfcm_sim_max_fg'],
                              terms['loss_tfcm_sim_max_fg'], rtol=1e-3)


def test_gather_without_process_group_is_identity():
    x = torch.rand(3, 2, requires_grad=True)
    assert gather_batch(x) is x
