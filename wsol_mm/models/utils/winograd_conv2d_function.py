"""3x3 stride-1 convolutions by Winograd's minimal filtering F(4x4, 3x3), float32 on CPU.

A 3x3 convolution computes 36 products per 4x4 output tile and channel pair in the
Winograd domain instead of 144 (Lavin & Gray, "Fast Algorithms for Convolutional Neural
Networks", CVPR 2016; the interpolation points 0, +-1, +-2 and infinity, as cuDNN's and
NNPACK's F(4x4, 3x3)). The tile transforms are small dense matrices applied with one GEMM
each; the 36 channel products are one GEMM per component (oneDNN where torch has it).
The result equals the convolution up to float rounding, about 10x the rounding of the
direct convolution (relative error ~1e-5 of the output's largest value in float32, the
price of the 4x fewer products);
:class:`~wsol_mm.models.layers.WinogradConv2d` says where this path is taken.
"""
import math
from typing import Callable, Dict, List, Optional, Tuple

import torch
from torch.autograd.function import once_differentiable

from .onednn_linear_function import _LINEAR, _dense, _weight_grad, weight_grad_through_mkl

_BT = torch.tensor([[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
                    [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]],
                   dtype=torch.float64)
_G = torch.tensor([[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
                   [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]],
                  dtype=torch.float64)
_AT = torch.tensor([[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0],
                    [0, 1, -1, 8, -8, 1]], dtype=torch.float64)
# the 2-D transforms of a flattened tile: vec(B^T d B) = kron(B^T, B^T) vec(d), etc.
INPUT_T = torch.kron(_BT, _BT).float()  # (36, 36): 6x6 input tile -> Winograd domain
FILTER_T = torch.kron(_G, _G).float()  # (36, 9): 3x3 filter -> Winograd domain
OUTPUT_T = torch.kron(_AT, _AT).float()  # (16, 36): Winograd domain -> 4x4 output tile
# Winograd-domain components per batched GEMM: a quarter of the 36 keeps the weight-sized
# buffers at the weight's own size (benchmarks/winograd_conv.py: same speed as all 36)
CHUNK = 9
assert 36 % CHUNK == 0
# The backward pass of a wide layer runs at the training step's memory peak (the head
# convolutions are the last of the forward pass, so the first of the backward pass, with
# every activation still saved): there a chunk's filters / filter gradient (``chunk_w``)
# hold at most this many bytes, in chunks of 6 or 4 components (crop consistency
# InceptionV3, 1024->1024 channels: 4 components, 16 instead of 38 MB; a few % slower
# layer, about 30 MB lower step peak; 3 or fewer components ran 1.3x slower)
BACKWARD_CHUNK_BYTES = 16 * 2**20
# The tile buffers of one call (~9x the input of the images in them) hold at most this many
# bytes: larger batches go through in blocks of images, which bounds what a call adds to a
# training step's peak memory (benchmarks/winograd_conv.py --rss) ...
SCRATCH_BYTES = 16 * 2**20
# ... but a block has at least this many 4x4 tiles: smaller GEMMs run below the cores' peak
# and the filter transform, redone per block, would weigh more
MIN_BLOCK_TILES = 196


def _tiles(h: int, w: int) -> Tuple[int, int]:
    return (h + 3) // 4, (w + 3) // 4


Shapes = Dict[str, Tuple[int, ...]]


def _block_images(n: int, tiles_per_image: int, shapes: Callable[[int], Shapes]) -> int:
    """How many images go through at once: as many as :data:`SCRATCH_BYTES` of
    ``shapes(images)`` buffers hold, but at least :data:`MIN_BLOCK_TILES` tiles."""
    per_image = 4 * sum(math.prod(shape) for shape in shapes(1).values())
    least = -(-MIN_BLOCK_TILES // tiles_per_image)
    return max(1, min(n, max(least, SCRATCH_BYTES // per_image)))


def _scratch(ref: torch.Tensor, shapes: Shapes) -> Dict[str, torch.Tensor]:
    """Flat scratch buffers of one call, by name (results are written into them with
    ``out=``, so each exists once per call); :func:`_views` shapes them per block. The
    transformed input tiles get none where oneDNN computes them (:func:`_input_tiles`:
    it returns its own output); they still count in the block size."""
    return {key: torch.empty(math.prod(shape), dtype=ref.dtype, device=ref.device)
            for key, shape in shapes.items() if key != 'tiles_in' or not _onednn(ref)}


def _views(flat: Dict[str, torch.Tensor], shapes: Shapes) -> Dict[str, torch.Tensor]:
    return {key: flat[key][:math.prod(shape)].view(shape) for key, shape in shapes.items()
            if key in flat}


def _input_shapes(n: int, c: int, th: int, tw: int) -> Shapes:
    return dict(padded=(n, 4 * th + 4, 4 * tw + 4, c), tiles=(36, n * th * tw * c),
                tiles_in=(36, n * th * tw, c))


def _input_tiles(x: torch.Tensor, ws: Dict[str, torch.Tensor]) -> torch.Tensor:
    """``(N, C, H, W)`` -> the transformed overlapping 6x6 tiles ``(36, N * tiles, C)``,
    through the scratch views ``padded`` and ``tiles``. The transform is one product with
    36 terms per element: through oneDNN where :func:`_scratch` left out ``tiles_in``
    (float32 on CPU; 1.0-1.14x per layer training step on the Zen 5 machine, the same
    values), else ``torch.mm`` into ``tiles_in``."""
    n, c, h, w = x.shape
    th, tw = _tiles(h, w)
    padded = ws['padded'][:, :4 * th + 2, :4 * tw + 2]  # zero border, then x
    padded[:, :1].zero_()
    padded[:, h + 1:].zero_()
    padded[:, 1:h + 1, :1].zero_()
    padded[:, 1:h + 1, w + 1:].zero_()
    padded[:, 1:h + 1, 1:w + 1].copy_(x.permute(0, 2, 3, 1))
    tiles = padded.unfold(1, 6, 4).unfold(2, 6, 4)  # (N, th, tw, C, 6, 6), a view
    gathered = ws['tiles'].view(6, 6, n, th, tw, c)
    gathered.copy_(tiles.permute(4, 5, 0, 1, 2, 3))
    flat = ws['tiles'].view(36, -1)
    if 'tiles_in' not in ws:  # oneDNN packs the transposed view as its weight operand
        return _dense(INPUT_T, flat.t(), None).view(36, n * th * tw, c)
    torch.mm(INPUT_T, flat, out=ws['tiles_in'].view(36, -1))
    return ws['tiles_in']


def _taps(weight: torch.Tensor) -> torch.Tensor:
    """The ``(C_out, C_in, 3, 3)`` weight as ``(9, C_out * C_in)``: a transposed view of a
    contiguous weight (no weight-sized copy: it would sit on the training step's memory
    peak, the head convolutions being the last of the forward pass), else a copy."""
    return weight.reshape(-1, 9).t()


def _filters(taps: torch.Tensor, ks: slice, out: torch.Tensor) -> torch.Tensor:
    """Components ``ks`` of the transformed filters ``(CHUNK, C_out, C_in)``."""
    return torch.mm(FILTER_T[ks], taps, out=out.view(out.shape[0], -1)).view(out.shape)


def _sum_into(acc: torch.Tensor, left: torch.Tensor, right: torch.Tensor,
              first: bool) -> None:
    """``acc = left @ right`` for the first chunk, else ``acc += left @ right``."""
    if first:
        torch.mm(left, right, out=acc)
    else:
        acc.addmm_(left, right)


def _onednn(t: torch.Tensor) -> bool:
    return _LINEAR is not None and t.dtype == torch.float32 and t.device.type == 'cpu'


def _products(left: torch.Tensor, right: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """``out[k] = left[k] @ right[k]^T`` for ``(K, T, C)`` and ``(K, D, C)`` (``right[k]``
    in a dense layer's weight layout, any strides) into ``out`` ``(K, T, D)``.

    For float32 on CPU one oneDNN dense layer per component, where torch has them: MKL's
    batched ``sgemm`` takes its AVX2 code on AMD CPUs, oneDNN AVX-512 (on Zen 5 1.7-2.2x
    as fast for the channel products here, docs/speed.md); else (other
    dtypes, e.g. the float64 tests) ``torch.bmm``.
    """
    if not _onednn(left):
        return torch.bmm(left, right.transpose(1, 2), out=out)
    for k in range(out.shape[0]):
        out[k].copy_(_dense(left[k], right[k], None))
    return out


def _outer_products(grad: torch.Tensor, right: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """``out[k] = grad[k]^T @ right[k]`` for ``(K, T, D)`` and ``(K, T, C)`` into ``out``
    ``(K, D, C)``: oneDNN's weight gradient per component (see :func:`_products`), or
    MKL's batched product where a linear layer of ``C`` -> ``D`` features takes MKL's
    weight gradient (:func:`weight_grad_through_mkl`: AMD Zen 4 and older, ``C <= D``).
    There MKL reads the transposed ``grad[k]`` in place and writes into ``out``, where
    oneDNN copies both (``benchmarks/winograd_conv.py``: each layer's training step
    1.02-1.14x on Zen 4; 0.99-1.03x for 512 -> 512 and 1024 -> 1024 channels)."""
    if not _onednn(grad) or weight_grad_through_mkl(right.shape[-1], grad.shape[-1]):
        return torch.bmm(grad.transpose(1, 2), right, out=out)
    for k in range(out.shape[0]):
        _weight_grad(grad[k], right[k], out=out[k])
    return out


def _tile_view(t: torch.Tensor, th: int, tw: int) -> torch.Tensor:
    """An ``(N, >= 4 th, >= 4 tw, C)`` buffer's top-left ``4 th x 4 tw`` as
    ``(N, th, 4, tw, 4, C)``."""
    return t[:, :4 * th, :4 * tw].view(t.shape[0], th, 4, tw, 4, t.shape[-1])


class WinogradConv2dFunction(torch.autograd.Function):
    """``conv2d(x, weight, bias, padding=1)`` for a 3x3 kernel by F(4x4, 3x3).

    Forward: the input's 6x6 tiles (stride 4) and the filters go to the Winograd domain,
    36 GEMMs ``(tiles, C_in) x (C_in, C_out)`` multiply them, the output transform gives
    the 4x4 output tiles. Backward is the exact adjoint of those steps (the same GEMM
    count for each of the input and weight gradients); it saves only ``x`` and
    ``weight``, which autograd keeps for a direct convolution too. The 36 components go
    through in chunks of :data:`CHUNK` (backward: :func:`_backward_chunk`), summed into
    the output transform, so that the weight-sized buffers (the transformed filters and
    their gradient, 4x the weight) never exist whole; the filters are transformed from a
    view of the weight and its gradient is formed in the weight's layout (no copy of
    either); the images go through in blocks (:func:`_block_images`), so
    that the tile buffers (~9x the input of a block) stay within :data:`SCRATCH_BYTES`.
    Not twice differentiable.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor,
                bias: Optional[torch.Tensor]) -> torch.Tensor:
        ctx.save_for_backward(x, weight)
        ctx.with_bias = bias is not None
        n, c_in, h, w = x.shape
        c_out = weight.shape[0]
        th, tw = _tiles(h, w)

        def shapes(m: int) -> Shapes:
            return dict(_input_shapes(m, c_in, th, tw), prods=(CHUNK, m * th * tw, c_out),
                        acc=(16, m * th * tw * c_out))
        block = _block_images(n, th * tw, shapes)
        flat = _scratch(x, shapes(block))
        fixed = dict(filters=(CHUNK, c_out, c_in))
        ws_w = _views(_scratch(x, fixed), fixed)
        taps = _taps(weight)
        out = torch.empty((n, c_out, h, w), dtype=x.dtype, memory_format=torch.channels_last)
        for i0 in range(0, n, block):
            m = min(block, n - i0)
            ws = _views(flat, shapes(m))
            tiles_in = _input_tiles(x[i0:i0 + m], ws)
            for i, ks in enumerate(_chunks()):
                filters = _filters(taps, ks, ws_w['filters'])
                prods = _products(tiles_in[ks], filters, ws['prods'])
                _sum_into(ws['acc'], OUTPUT_T[:, ks], prods.view(CHUNK, -1), i == 0)
            _untile(ws['acc'], bias, out[i0:i0 + m])
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: torch.Tensor) -> Tuple[Optional[torch.Tensor], ...]:
        x, weight = ctx.saved_tensors
        n, c_in, h, w = x.shape
        c_out = weight.shape[0]
        th, tw = _tiles(h, w)
        need_x, need_w = ctx.needs_input_grad[:2]
        kb = _backward_chunk(4 * c_out * c_in)

        def shapes(m: int) -> Shapes:
            tiles = m * th * tw
            found = dict(_input_shapes(m, c_in, th, tw), out_tiles=(4, 4, m, th, tw, c_out),
                         grad_prods=(kb, tiles, c_out))
            if (4 * th, 4 * tw) != (h, w):
                found.update(grad_pad=(m, 4 * th, 4 * tw, c_out))
            if need_x:
                found.update(grad_v=(kb, tiles, c_in))
            return found
        block = _block_images(n, th * tw, shapes)
        flat = _scratch(grad, shapes(block))
        # a chunk's filter-gradient and filters take turns in one buffer (``chunk_w``)
        fixed: Shapes = dict(chunk_w=(kb, c_out, c_in))
        if need_w:  # the weight gradient as a contiguous weight: autograd keeps it as is
            fixed.update(grad_w=(c_out * c_in, 9))
        ws_w = _views(_scratch(grad, fixed), fixed)
        taps = _taps(weight) if need_x else None
        grad_x = torch.empty((n, c_in, h, w), dtype=x.dtype,
                             memory_format=torch.channels_last) if need_x else None
        for i0 in range(0, n, block):
            m = min(block, n - i0)
            ws = _views(flat, shapes(m))
            grad_nhwc = grad[i0:i0 + m].permute(0, 2, 3, 1)
            if 'grad_pad' in ws:  # the output gradient, zero-padded to whole tiles
                padded = ws['grad_pad']
                padded[:, h:].zero_()
                padded[:, :h, w:].zero_()
                padded[:, :h, :w].copy_(grad_nhwc)
                grad_nhwc = padded
            ws['out_tiles'].copy_(_tile_view(grad_nhwc, th, tw).permute(2, 4, 0, 1, 3, 5))
            out_tiles = ws['out_tiles'].view(16, -1)
            tiles_in = _input_tiles(x[i0:i0 + m], ws) if need_w else None
            grad_tiles = ws['tiles']  # free once tiles_in is formed: the input tiles' gradient
            for i, ks in enumerate(_chunks(kb)):
                grad_prods = torch.mm(OUTPUT_T[:, ks].t(), out_tiles,
                                      out=ws['grad_prods'].view(kb, -1)).view(
                                          kb, m * th * tw, c_out)
                if need_w:  # dU = dM^T V, then the filter transform's adjoint
                    grad_u = _outer_products(grad_prods, tiles_in[ks], ws_w['chunk_w'])
                    _sum_into(ws_w['grad_w'], grad_u.view(kb, -1).t(), FILTER_T[ks],
                              i0 == 0 and i == 0)
                if need_x:  # dV = dM U, then the input transform's adjoint
                    filters = _filters(taps, ks, ws_w['chunk_w'])
                    grad_v = _products(grad_prods, filters.transpose(1, 2), ws['grad_v'])
                    _sum_into(grad_tiles, INPUT_T[ks].t(), grad_v.view(kb, -1), i == 0)
            if need_x:
                _scatter_tiles(grad_tiles, ws['padded'], grad_x[i0:i0 + m])
        grad_w = grad_b = None
        if need_w:
            grad_w = ws_w['grad_w'].view(weight.shape)
        if ctx.with_bias and ctx.needs_input_grad[2]:
            grad_b = grad.sum((0, 2, 3))
        return grad_x, grad_w, grad_b


def _untile(acc: torch.Tensor, bias: Optional[torch.Tensor], out: torch.Tensor) -> None:
    """Write the ``(16, N * tiles * C_out)`` output tiles, plus ``bias``, into ``out``
    ``(N, C_out, H, W)`` (channels-last), cropping the tiles past the border."""
    n, c_out, h, w = out.shape
    th, tw = _tiles(h, w)
    out_tiles = acc.view(4, 4, n, th, tw, c_out).permute(2, 3, 0, 4, 1, 5)
    target = out.permute(0, 2, 3, 1)
    if (4 * th, 4 * tw) == (h, w):
        target = target.view(n, th, 4, tw, 4, c_out)
    else:
        out_tiles = out_tiles.reshape(n, 4 * th, 4 * tw, c_out)[:, :h, :w]
    if bias is None:
        target.copy_(out_tiles)
    else:
        torch.add(out_tiles, bias, out=target)


def _backward_chunk(component_bytes: int) -> int:
    """The components per chunk of the backward pass (see :data:`BACKWARD_CHUNK_BYTES`)."""
    return next((k for k in (CHUNK, 6) if k * component_bytes <= BACKWARD_CHUNK_BYTES), 4)


def _chunks(size: int = CHUNK) -> List[slice]:
    return [slice(k, k + size) for k in range(0, 36, size)]


def _scatter_tiles(tiles: torch.Tensor, buf: torch.Tensor, grad_x: torch.Tensor) -> None:
    """Add the ``(36, N * tiles * C)`` gradients of the overlapping 6x6 input tiles, in
    the scratch ``buf`` ``(N, 4 th + 4, 4 tw + 4, C)``, and write the sums into the
    input's gradient ``grad_x`` ``(N, C, H, W)`` (channels-last)."""
    n, c, h, w = grad_x.shape
    th, tw = _tiles(h, w)
    tiles = tiles.view(6, 6, n, th, tw, c).permute(2, 3, 0, 4, 1, 5)  # (N, th, 6, tw, 6, C)
    buf[:, 4 * th:].zero_()
    buf[:, :4 * th, 4 * tw:].zero_()
    # rows / columns 0-3 of a tile own 4 distinct rows / columns; 4-5 overlap the next tile
    _tile_view(buf, th, tw).copy_(tiles[:, :, :4, :, :4])
    _tile_view(buf[:, 4:], th, tw)[:, :, :2].add_(tiles[:, :, 4:, :, :4])
    _tile_view(buf[:, :, 4:], th, tw)[:, :, :, :, :2].add_(tiles[:, :, :4, :, 4:])
    _tile_view(buf[:, 4:, 4:], th, tw)[:, :, :2, :, :2].add_(tiles[:, :, 4:, :, 4:])
    grad_x.permute(0, 2, 3, 1).copy_(buf[:, 1:1 + h, 1:1 + w])
