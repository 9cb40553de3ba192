# SCM on DeiT-S/16 (spec §2.9): TS-CAM's localizer + one training-time SSFM neck (4 diffusion
# blocks on the 4-neighbour patch graph, threshold init 0.5, Newton-Schulz 16/4/4/4 steps);
# inference = min-max normalised attention x class map. Plain cross-entropy (weight 1).
_base_ = ['./tscam_deit_s.py']
model = dict(
    normalize_attention=True,
    neck=dict(type='SSFM', graph='four_neighbour', num_layers=4, threshold_init=0.5,
              on_divergence='fallback'),
)
