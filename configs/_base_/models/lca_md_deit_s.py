# LCA-MD on DeiT-S/16 (spec §2.1-§2.5). Training: 0.6 * CE(GAP(SSFM(S, minmax(a))))
# + 0.4 * (SimMax(fg) + SimMax(bg) + SimMin(bg, fg)) with (fg, bg) = TFCM(S, raw a).
# `LCAMD`'s defaults are the released values: TFCM conv C->C (C = head.num_classes),
# SSFM = 2 blocks on the 40-offset graph (cross 3), threshold 0.7, lambda 1, Newton-Schulz
# 16/4 steps from 0.002 F^T (diverged images fall back to a contracting scale), SimMax
# alpha 0.75. Inference = TS-CAM with min-max normalised attention.
_base_ = ['./tscam_deit_s.py']
model = dict(
    type='LCAMD',
    normalize_attention=True,
    head=dict(loss=dict(type='CrossEntropyLoss', loss_weight=0.6)),
)
