# LCA-MD on DeiT-S/16 (spec §2.1-§2.5): TS-CAM's localizer with min-max normalised attention
# and two training-time necks. Training: 0.6 * CE(GAP(SSFM(S, minmax(a))))
# + 0.4 * (SimMax(fg) + SimMax(bg) + SimMin(bg, fg)) with (fg, bg) = TFCM(S, raw a).
# TFCM comes first: it reads the unrefined class maps; SSFM refines them for the CE.
# Released values: TFCM conv C->C (C = head.num_classes), SimMax alpha 0.75; SSFM = 2 blocks on
# the 40-offset graph (cross 3), threshold 0.7, lambda 1, Newton-Schulz 16/4 steps from
# 0.002 F^T (diverged images fall back to a contracting scale). Inference = TS-CAM with
# min-max normalised attention (the necks are training-only, as released).
_base_ = ['./tscam_deit_s.py']
model = dict(
    normalize_attention=True,
    head=dict(loss=dict(type='CrossEntropyLoss', loss_weight=0.6)),
    neck=[
        dict(type='TFCM', loss_sim_max=dict(type='SimMaxLoss', alpha=0.75, loss_weight=0.4),
             loss_sim_min=dict(type='SimMinLoss', loss_weight=0.4)),
        dict(type='SSFM', graph='multi_direction', cross=3, num_layers=2, threshold_init=0.7,
             on_divergence='fallback'),
    ],
)
