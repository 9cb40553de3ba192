"""DA-WSOL's target sampling assigner: per-image 3-means over pixel features, batched."""
from typing import Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.dist import all_reduce, is_distributed

from wsol_mm.registry import MODELS

from ..utils.precision import at_least_float32

UNIVERSUM, SOURCE, TARGET = 0, 1, 2


@MODELS.register_module()
class TargetSamplingAssigner(nn.Module):
    """Split each image's pixel features into universum / source-like / target (DA-WSOL TSA).

    Per image, k-means with k = 3 runs over its ``N`` pixel features (Lloyd
    iterations, all images of the batch at once on the features' device),
    initialised with (0) the running universum centre, (1) the image's GAP
    feature and (2) the running centre of its class (the GAP feature for a class
    never seen). Cluster 0 is the universum (background), 1 source-like, 2 the
    target pixels. An empty cluster keeps its previous centre.

    The running centres are buffers (saved in checkpoints, restored on resume):
    after each batch the class centre becomes the running mean of the cluster-1
    centres of its images and the universum centre the running mean of all
    cluster-0 centres. Under DDP the per-batch sums and counts are
    all-reduced (summed) before the update, so every rank holds the same
    centres, equal to the mean over the images of all ranks.

    Args:
        num_classes (int): number of classes (rows of the class-centre buffer).
        feat_channels (int): pixel-feature channels ``D``.
        num_source (int): source samples per image, the GAP feature included.
            Defaults to 32.
        num_target (int): target samples per image. Defaults to 32.
        max_iters (int): Lloyd iterations at most (stops earlier when no
            assignment changes). Defaults to 100.
    """

    def __init__(self, num_classes: int, feat_channels: int, num_source: int = 32,
                 num_target: int = 32, max_iters: int = 100) -> None:
        super().__init__()
        if num_classes <= 0 or feat_channels <= 0 or num_source < 2 or num_target < 1:
            raise ValueError('TargetSamplingAssigner: need num_classes, feat_channels > 0, '
                             f'num_source >= 2, num_target >= 1; got {num_classes}, '
                             f'{feat_channels}, {num_source}, {num_target}')
        self.num_classes, self.feat_channels = num_classes, feat_channels
        self.num_source, self.num_target, self.max_iters = num_source, num_target, max_iters
        self.register_buffer('universum_centre', torch.zeros(feat_channels))
        self.register_buffer('universum_count', torch.zeros((), dtype=torch.long))
        self.register_buffer('class_centres', torch.zeros(num_classes, feat_channels))
        self.register_buffer('class_counts', torch.zeros(num_classes, dtype=torch.long))

    def extra_repr(self) -> str:
        return (f'num_classes={self.num_classes}, feat_channels={self.feat_channels}, '
                f'num_source={self.num_source}, num_target={self.num_target}')

    def initial_centres(self, image_feats: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """k-means initialisation ``(B, 3, D)`` from the running centres."""
        cls = self.class_centres[labels].to(image_feats.dtype)
        unseen = self.class_counts[labels] == 0
        cls = torch.where(unseen[:, None], image_feats, cls)
        uni = self.universum_centre.to(image_feats.dtype).expand_as(image_feats)
        return torch.stack([uni, image_feats, cls], dim=1)

    @torch.no_grad()
    def kmeans(self, x: torch.Tensor, centres: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Batched Lloyd k-means: assignments ``(B, N)`` and centres ``(B, k, D)``."""
        x_sq = x.pow(2).sum(-1, keepdim=True)  # (B, N, 1)

        def assign(c: torch.Tensor) -> torch.Tensor:
            d2 = torch.baddbmm(x_sq + c.pow(2).sum(-1)[:, None], x, c.transpose(1, 2),
                               alpha=-2)
            return d2.argmin(dim=-1)  # ties -> lowest cluster index

        labels = assign(centres)
        for _ in range(self.max_iters):
            onehot = F.one_hot(labels, centres.shape[1]).to(x.dtype)  # (B, N, k)
            counts = onehot.sum(dim=1)[..., None]  # (B, k, 1)
            sums = onehot.transpose(1, 2) @ x
            centres = torch.where(counts > 0, sums / counts.clamp_min(1), centres)
            new = assign(centres)
            if torch.equal(new, labels):
                break
            labels = new
        return labels, centres

    def assign(self, pixel_feats: torch.Tensor, image_feats: torch.Tensor,
               labels: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Cluster labels ``(B, N)`` and final centres ``(B, 3, D)`` (no gradient).

        Args:
            pixel_feats (Tensor): ``(B, N, D)`` pixel features.
            image_feats (Tensor): ``(B, D)`` image (GAP) features.
            labels (Tensor): ``(B, )`` class indices.
        """
        x = at_least_float32(pixel_feats.detach())
        init = self.initial_centres(at_least_float32(image_feats.detach()), labels)
        return self.kmeans(x, init)

    @torch.no_grad()
    def update(self, centres: torch.Tensor, image_feats: torch.Tensor,
               labels: torch.Tensor) -> None:
        """Running-mean update of the buffers from one batch's k-means centres.

        A class seen for the first time is seeded with the GAP feature of its
        first image in the (local) batch, counted as one sample, as released.
        """
        centres = at_least_float32(centres)
        image_feats = at_least_float32(image_feats.detach())
        k, d = self.class_centres.shape
        sums = centres.new_zeros(k, d).index_add_(0, labels, centres[:, SOURCE])
        counts = centres.new_zeros(k).index_add_(0, labels, centres.new_ones(len(labels)))
        unseen = self.class_counts[labels] == 0
        if unseen.any():
            first = torch.full((k, ), len(labels), device=labels.device, dtype=torch.long)
            first.scatter_reduce_(0, labels[unseen], torch.nonzero(unseen)[:, 0], 'amin')
            seeded = torch.nonzero(first < len(labels))[:, 0]
            sums[seeded] += image_feats[first[seeded]]
            counts[seeded] += 1
        uni_sum, uni_count = centres[:, UNIVERSUM].sum(0), centres.new_tensor(len(labels))
        if is_distributed():
            for t in (sums, counts, uni_sum, uni_count):
                all_reduce(t, op='sum')
        old = self.class_counts.float()
        seen = counts > 0
        self.class_centres[seen] = ((self.class_centres[seen] * old[seen, None] + sums[seen])
                                    / (old[seen] + counts[seen])[:, None])
        self.class_counts += counts.round().long()
        old_u = self.universum_count.float()
        self.universum_centre.copy_((self.universum_centre * old_u + uni_sum) / (old_u + uni_count))
        self.universum_count += uni_count.round().long()

    def sample(self, pixel_feats: torch.Tensor, image_feats: torch.Tensor,
               assignment: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor,
                                                  torch.Tensor]:
        """Random source / target sets and all universum features (gradients kept).

        An image is used for the MMD only if it has at least ``num_source - 1``
        source and ``num_target`` target pixels (as released).

        Returns:
            tuple: ``source`` ``(V, num_source, D)`` (the detached GAP feature
            first, then source pixels), ``target`` ``(V, num_target, D)``,
            ``universum`` ``(M, D)`` and ``valid`` ``(B, )`` bool.
        """
        b, n, d = pixel_feats.shape
        ns, nt = self.num_source - 1, self.num_target
        is_src, is_tgt = assignment == SOURCE, assignment == TARGET
        valid = (is_src.sum(1) >= ns) & (is_tgt.sum(1) >= nt)
        universum = pixel_feats[assignment == UNIVERSUM]
        if n < max(ns, nt) or not valid.any():
            empty = pixel_feats.new_zeros(0, 1, d)
            return (empty.expand(0, ns + 1, d), empty.expand(0, nt, d), universum, valid)
        # Random keys, pushed past 1 outside the set: the k smallest are a uniform
        # draw without replacement inside the set.
        keys = torch.rand(b, n, device=pixel_feats.device)
        src_idx = (keys + (~is_src).float() * 2).topk(ns, dim=1, largest=False).indices
        keys = torch.rand(b, n, device=pixel_feats.device)
        tgt_idx = (keys + (~is_tgt).float() * 2).topk(nt, dim=1, largest=False).indices

        def gather(idx: torch.Tensor) -> torch.Tensor:
            return pixel_feats.gather(1, idx[..., None].expand(-1, -1, d))

        source = torch.cat([image_feats.detach()[:, None], gather(src_idx)], dim=1)
        return source[valid], gather(tgt_idx)[valid], universum, valid
