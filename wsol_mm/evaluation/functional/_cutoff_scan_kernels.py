"""Compiled union-find kernel behind :mod:`cutoff_scan` (numba, ``cache=True``).

For a uint8 map ``u`` every binary mask ``u > T`` (T = 0..255) is visited in
one pass. Foreground (8-connected, as OpenCV's outer contours) grows as T
falls, so pixels are added in decreasing value order; holes (4-connected
background components that do not reach the image border, as OpenCV's hole
contours) grow as T rises; they are found in ``_hole_scan_kernels`` only for
V2 and only at cut-offs where a hole box could reach the best outer IoU. A
perimeter budget bounds hole sizes: every 4-neighbour edge of a component
leads to background, the outer border has >= 2 edges per row and column of
the bbox, a hole spanning a x b pixels >= 2 (a + b) (see ``_holes_cannot_win``).

Per foreground component we keep its bounding box, ``2 * contourArea`` and
4 x its Euler number. Every foreground pixel of a 2x2 window is 8-adjacent to
the others, so each window belongs to one component and window sums split
per component: ``2 * contourArea`` of a hole-free component is ``2 * #full
windows + #windows with 3 pixels`` (the polygon through the boundary pixel
centres) and ``holes = 1 - Euler``. A new pixel changes only its four
windows, so both deltas are read from tables indexed by the 8-bit mask of its
active neighbours.

v1 (largest ``contourArea``): a hole contour is never larger than its outer
contour and comes after it in OpenCV's (pre-order) list, so the answer is an
outer contour. Without holes anywhere, the largest exact area wins, ties to
the latest first pixel in raster order (OpenCV lists siblings in reverse).
With holes, nesting changes OpenCV's order and a holed component's area is
only bounded (exact area of its pixels <= contour area <= bbox area), so the
candidate must beat every other component strictly; otherwise the cut-off is
flagged for OpenCV.

The pass stops at the first cut-off whose answer settles every lower one, so
the lowest values (the most pixels of a CAM, joining the large component last)
need no pass: v1 when one component's box is the whole map and it holds more
than half of it (``_v1_final``), V2 when a whole-map component exists and
nothing outside it can reach the IoU that matters (``_tail_bound_kernels``).

A component's records live in its slot (``_union_find_kernels``); the area
and the perimeter (only one is needed: v1 or V2) share one int64 with the
Euler number, so a pixel costs one addition for all three. Work buffers are
passed in and reused (fresh multi-MB arrays per map cost more in page faults
than the scan).
"""
import numpy as np
from numba import njit

from ._hole_scan_kernels import _hole_pass
from ._tail_bound_kernels import (
    MAX_TRIES,
    _fill_below,
    _next_floor,
    _v1_final,
    _whole_map_component,
    tail_settled,
    tail_setup,
)
from ._union_find_kernels import (
    _DIRTY,
    _FG_BITS,
    _FIRST,
    _GT,
    _LOW,
    _NCUT,
    _POS,
    _U,
    _X0,
    _X1,
    _X_MASK,
    _X_SHIFT,
    _Y0,
    _Y1,
    _Y_SHIFT,
    HOLES,
    OK,
    OPENCV,
    _best_iou,
    _drop_live,
    _find,
    _grow,
    _merge_box,
    _new_slot,
    sort_pixels,
)


def _window_tables():
    """Per 8-bit neighbour mask: d(2 x area), d(4 x Euler) and the neighbours to look up.

    Ring order of the mask bits: N, NE, E, SE, S, SW, W, NW. The pixel is the
    BR, BL, TL, TR corner of its windows TL, TR, BR, BL. Window patterns use
    bits TL=1, TR=2, BL=4, BR=8 (diagonal pairs: 6 and 9).
    """
    euler = [{1: 1, 3: -1}.get(bin(i).count('1'), 0) - 2 * (i in (6, 9)) for i in range(16)]
    # (ring bits of the other three pixels as (bit, window corner), corner of the new pixel)
    windows = ((((7, 1), (0, 2), (6, 4)), 8), (((0, 1), (1, 2), (2, 8)), 4),
               (((2, 2), (3, 8), (4, 4)), 1), (((6, 1), (4, 8), (5, 4)), 2))
    d_area, d_euler = np.zeros(256, np.int32), np.zeros(256, np.int32)
    # 4-neighbour edges to background: +4 for the pixel, -2 per active edge neighbour
    d_perim = np.array([4 - 2 * sum(m >> b & 1 for b in (0, 2, 4, 6)) for m in range(256)],
                       np.int32)
    finds = np.full((256, 5), -1, np.int8)
    ring = ((-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1))
    for m in range(256):
        for others, own in windows:
            pat = sum(c for b, c in others if m >> b & 1)
            d_area[m] += bin(pat).count('1') >= 2  # 2->3 adds a triangle, 3->4 the square
            d_euler[m] += euler[pat | own] - euler[pat]
        # active neighbours that touch each other are already one component:
        # one lookup per group of mutually reachable active neighbours
        look, seen = [], set()
        for b in range(8):
            if m >> b & 1 and b not in seen:
                look.append(b)
                stack = [b]
                while stack:
                    c = stack.pop()
                    if c in seen:
                        continue
                    seen.add(c)
                    stack += [d for d in range(8) if m >> d & 1 and d not in seen
                              and max(abs(ring[c][0] - ring[d][0]),
                                      abs(ring[c][1] - ring[d][1])) == 1]
        finds[m, :len(look)] = look
    return d_area, d_euler, d_perim, finds


#: sha256 (16 hex) of the kernel files this one calls. numba's cache only notices a change
#: of the file that defines a kernel, so a change of a callee must change this line too
#: (tests/test_evaluation/test_box_functional.py checks it).
CALLEES_DIGEST = '68681e0f5cc63e4a'
#: scan_map's error code for GT boxes that break the convention (sort_pixels has 1 and 2)
BAD_BOXES = 3
_D_AREA, _D_EULER, _D_PERIM, _FINDS = _window_tables()
# one int64 addition per pixel: (2 x area or perimeter) + (4 x Euler) << 32
_PACK_V1 = _D_AREA.astype(np.int64) + (_D_EULER.astype(np.int64) << 32)
_PACK_V2 = _D_PERIM.astype(np.int64) + (_D_EULER.astype(np.int64) << 32)
_NFIND = (_FINDS >= 0).sum(1).astype(np.int64)  # neighbour groups to look up per mask
# ring neighbour of each group, as an offset from the NW neighbour (unsigned indexing):
# N, NE, E, SE, S, SW, W, NW at (dy, dx) + (1, 1), i.e. dy * (W + 2) + dx
_RING_DY = np.array([0, 0, 1, 2, 2, 2, 1, 0], np.uint64)
_RING_DX = np.array([1, 2, 2, 2, 1, 0, 0, 0], np.uint64)
_FIND_DY = np.where(_FINDS >= 0, _RING_DY[np.maximum(_FINDS, 0)], 0).astype(np.uint64)
_FIND_DX = np.where(_FINDS >= 0, _RING_DX[np.maximum(_FINDS, 0)], 0).astype(np.uint64)


@njit(cache=True)
def _foreground_pass(gts, wanted, multi, clip, ebox, floors, shape, order, starts, lab, parent,
                     rec, shp, iou, live, ious, gidx, status, bmin, settle_target):
    """Scores of the outer contours at every wanted cut-off (see the module docstring).

    With ``floors`` (sorted IoU thresholds), only ``iou >= floor`` must be exact:
    holes are looked at only if they could cross the next floor above the best
    outer IoU, and v1 cut-offs go to OpenCV only if the possible largest
    contours disagree on some floor. ``bmin`` / ``settle_target``: from
    :func:`tail_setup`.

    Returns:
        int: the cut-off at which the pass stopped early, its answer settled for
        every lower one (v1: :func:`_v1_final`; V2: ``_tail_bound_kernels``), or -1.
    """
    h, w = shape
    w2 = _U(w + 2)
    # neighbour offset of each (mask, group) from the NW neighbour of the pixel
    offs = _FIND_DY * w2 + _FIND_DX
    pack = _PACK_V2 if multi else _PACK_V1
    e_iou, e_gt = _best_iou(ebox[0], ebox[1], ebox[2], ebox[3], gts)  # no contour
    xmax, ymax = (w - 1, h - 1) if clip else (w, h)  # x + w may reach W without clipping
    n_live = np.int64(0)  # not a literal 0: callees compile once, not per literal type
    n_slots = _U(0)
    tries = 0 if bmin.size else MAX_TRIES
    changed = True
    cur_iou, cur_gt, cur_status = e_iou, e_gt, OK
    t_low = 0  # pixels below the lowest wanted cut-off never matter
    while t_low < 255 and not wanted[t_low]:
        t_low += 1
    for t in range(255, t_low - 1, -1):
        # pixels of value t + 1 join: the mask becomes u > t
        v = t + 1
        if v <= 255 and starts[v + 1] > starts[v]:
            changed = True
            for k in range(starts[v], starts[v + 1]):
                e = _U(order[_U(k)])
                m = e & _FG_BITS
                x = (e >> _X_SHIFT) & _X_MASK
                y = e >> _Y_SHIFT
                nw = y * w2 + x  # padded index of the NW neighbour
                p = nw + w2 + _U(1)
                n_find = np.int64(_NFIND[m])
                if n_find == 0:  # isolated: a new component
                    rp = n_slots
                    n_slots += _U(1)
                    parent[rp] = rp
                    _new_slot(rp, x, y, rec, live, n_live)
                    rec[rp, _FIRST] = p
                    shp[rp] = pack[m]
                    n_live += 1
                else:
                    rp = _find(parent, _U(lab[nw + offs[m, 0]]))
                    for j in range(1, n_find):
                        rq = _find(parent, _U(lab[nw + offs[m, j]]))
                        if rq != rp:  # merge: the younger slot under the older
                            ra, rb = (rp, rq) if rp < rq else (rq, rp)
                            parent[rb] = ra
                            _merge_box(ra, rb, rec)
                            shp[ra] += shp[rb]
                            rec[ra, _FIRST] = min(rec[ra, _FIRST], rec[rb, _FIRST])
                            if rec[rb, _POS] >= 0:
                                n_live = _drop_live(rb, rec, live, n_live)
                            rp = ra
                    _grow(rp, np.int32(x), np.int32(y), rec)
                    if not multi and np.int32(p) < rec[rp, _FIRST]:  # v1 ties only
                        rec[rp, _FIRST] = p
                    shp[rp] += pack[m]
                lab[p] = rp
        if not wanted[t]:
            continue
        if changed:
            changed = False
            cur_status = OK
            if n_live == 0:
                cur_iou, cur_gt = e_iou, e_gt
            else:
                best, best_g = -1.0, 0
                c_star, c_a2, c_first = np.int64(-1), -1, -1
                cur_holes = 0
                for li in range(n_live):
                    r = live[li]
                    cur_holes += 1 - (shp[r] >> 32) // 4  # holes = 1 - Euler number
                    if rec[r, _DIRTY]:
                        iou[r], rec[r, _GT] = _best_iou(
                            rec[r, _X0] * 1.0, rec[r, _Y0] * 1.0,
                            min(rec[r, _X1] + 1, xmax) * 1.0, min(rec[r, _Y1] + 1, ymax) * 1.0,
                            gts)
                        rec[r, _DIRTY] = 0
                    if iou[r] > best or (iou[r] == best and rec[r, _GT] < best_g):
                        best, best_g = iou[r], rec[r, _GT]
                    a2 = shp[r] & _LOW
                    if a2 > c_a2 or (a2 == c_a2 and rec[r, _FIRST] > c_first):
                        c_star, c_a2, c_first = r, a2, rec[r, _FIRST]
                if multi:
                    cur_iou, cur_gt = best, best_g
                    target = _next_floor(best, floors)
                    if tries < MAX_TRIES:  # V2's tail: see _tail_bound_kernels
                        c = _whole_map_component(rec, live, n_live, h, w)
                        if c >= 0:
                            tries += 1
                            if tail_settled(t, c, bmin, gts, settle_target, rec, live, n_live,
                                            h, w):
                                ious[t], gidx[t], status[t] = cur_iou, cur_gt, OK
                                _fill_below(t, iou[c], rec[c, _GT], wanted, ious, gidx, status)
                                return t
                    if cur_holes > 0 and target <= 1.0 and not _holes_cannot_win(
                            target, rec, shp, live, n_live, gts):
                        cur_status = HOLES
                else:
                    cur_iou, cur_gt = iou[c_star], rec[c_star, _GT]
                    if _v1_final(c_star, rec, shp, h, w):  # the answer at every lower cut-off
                        _fill_below(t + 1, cur_iou, cur_gt, wanted, ious, gidx, status)
                        return t
                    if cur_holes > 0 and not _v1_decided(c_star, rec, shp, live, n_live, iou,
                                                         floors):
                        cur_status = OPENCV
        ious[t], gidx[t], status[t] = cur_iou, cur_gt, cur_status
    return -1


@njit(cache=True)
def _same_side(a, b, floors):
    """Whether IoUs ``a`` and ``b`` are on the same side of every floor."""
    for f in floors:
        if (a >= f) != (b >= f):
            return False
    return True


@njit(cache=True)
def _holes_cannot_win(best, rec, shp, live, n_live, gts):
    """Whether no hole box can reach IoU ``best`` (V2), from perimeter bounds.

    All 4-neighbour edges of a component lead to background. Its outer part
    has >= 2 edges per row and per column of its bbox, a hole of bbox a x b
    >= 2 (a + b), so ``a + b <= S = perimeter / 2 - width - height`` for every
    hole; the hole box (grown by one, x1/y1 one past) has area (a + 3)(b + 3)
    <= ((S + 6) / 2) ** 2 under the inclusive IoU convention. It
    lies in the component's box C, and IoU(H, g) <= min(|H|, |C & g|) / |g|.
    """
    for li in range(n_live):
        r = live[li]
        if shp[r] >> 32 == 4:  # no hole
            continue
        cw = rec[r, _X1] - rec[r, _X0] + 1
        ch = rec[r, _Y1] - rec[r, _Y0] + 1
        s_ab = (shp[r] & _LOW) // 2 - cw - ch
        area_ub = (s_ab + 6.0) * (s_ab + 6.0) / 4.0
        x1, y1 = rec[r, _X1] + 1.0, rec[r, _Y1] + 1.0  # box of C before clipping
        for j in range(gts.shape[0]):
            gx0, gy0, gx1, gy1 = gts[j, 0], gts[j, 1], gts[j, 2], gts[j, 3]
            iw = max(0.0, min(x1, gx1) - max(rec[r, _X0] * 1.0, gx0) + 1.0)
            ih = max(0.0, min(y1, gy1) - max(rec[r, _Y0] * 1.0, gy0) + 1.0)
            g_area = (gx1 - gx0 + 1.0) * (gy1 - gy0 + 1.0)
            # small relative margin: the bound must never fall below a float IoU
            if min(area_ub, iw * ih) >= (best - 1e-9) * g_area:
                return False
    return True


@njit(cache=True)
def _v1_decided(c, rec, shp, live, n_live, iou, floors):
    """Whether the box of component ``c`` surely scores as the largest contour's.

    True when ``c`` surely has the largest contour (holes make areas inexact), or,
    with ``floors``, when every component that might be larger is on the same
    side of every floor as ``c``.
    """
    a2 = shp[c] & _LOW
    c_holed = shp[c] >> 32 != 4
    for li in range(n_live):
        d = live[li]
        if d == c:
            continue
        if shp[d] >> 32 == 4:  # exact area; a holed c has area > a2
            d_a2 = shp[d] & _LOW
            rival = d_a2 > a2 or (d_a2 == a2 and not c_holed)
        else:  # holed: only the bbox bounds its contour area
            ub = 2 * (rec[d, _X1] - rec[d, _X0]) * (rec[d, _Y1] - rec[d, _Y0])
            rival = ub > a2 or (ub == a2 and not c_holed)
        if rival and (len(floors) == 0 or not _same_side(iou[c], iou[d], floors)):
            return False
    return True


@njit(cache=True, nogil=True)  # called from the scorers' threads
def scan_map(cam, levels, gts, wanted, thresholds, scale, multi, clip, ebox, floors, u, order,
             starts, pad, lab, parent, rec, shp, iou, live):
    """Best IoU, GT index and status (OK / OPENCV) at each wanted cut-off of a map.

    Args:
        cam: ``(H, W)`` float map in [0, 1]; with ``levels``, ``u`` already
        holds the uint8 map and ``cam`` is not read.
        gts: float64 ``(N, 4)`` GT boxes. wanted: bool ``(256,)`` cut-offs to
        score, or, when ``thresholds`` (float64) is not empty, those of
        ``int(tau * max(u))`` (``scale`` 0) or ``int(tau * scale)``. multi: V2
        (True) or v1. clip: clip x1/y1 to W-1/H-1. ebox: float64 ``(4,)`` box
        of an empty mask. floors: float64 sorted IoU thresholds; when not
        empty, IoUs are exact only in which floors they reach (and GT indices
        are not guaranteed). The rest are work buffers (``u`` uint8 ``(H, W)``,
        ``order`` int64 H*W, ``starts`` int64 257, ``pad`` uint8 ``(H+2, W+2)``,
        ``lab`` int32 (H+2)*(W+2), and per slot (H*W + 1): ``parent`` int32,
        ``rec`` int32 ``(., 8)``, ``shp`` int64, ``iou`` float64, ``live`` int32).

    Returns:
        tuple: float64 IoUs, int64 GT indices and int8 status, each ``(256,)``
        (IoU -1 where not wanted), ``max(u)`` and an error code (0, or
        BAD_BOXES / NAN_VALUE / OUT_OF_RANGE: nothing else is computed then).
    """
    ious = np.full(_NCUT, -1.0)
    gidx = np.zeros(_NCUT, np.int64)
    status = np.zeros(_NCUT, np.int8)
    for j in range(gts.shape[0]):  # box_ops.check_box_convention's test, NaN rejected too
        x0, y0, x1, y1 = gts[j, 0], gts[j, 1], gts[j, 2], gts[j, 3]
        if not (x0 >= 0.0 and y0 >= 0.0 and x1 >= x0 and y1 >= y0):
            return ious, gidx, status, 0, BAD_BOXES
    err = sort_pixels(cam, levels, u, order, starts, pad, multi)  # V2 reads hole masks
    if err:
        return ious, gidx, status, 0, err
    max_u = 0
    for v in range(255, -1, -1):
        if starts[v + 1] > starts[v]:
            max_u = v
            break
    if len(thresholds):
        wanted = np.zeros(_NCUT, np.bool_)
        mult = np.float64(max_u if scale == 0 else scale)
        for tau in thresholds:
            wanted[np.int64(tau * mult)] = True  # the float64 product numpy computes
    bmin, settle_target = tail_setup(u, gts, floors, multi)
    _foreground_pass(gts, wanted, multi, clip, ebox, floors, u.shape, order, starts, lab,
                     parent, rec, shp, iou, live, ious, gidx, status, bmin, settle_target)
    if multi:
        _hole_pass(gts, wanted, u, order, starts, lab, parent, rec, shp, iou, live, ious, gidx,
                   status)
    return ious, gidx, status, max_u, 0
