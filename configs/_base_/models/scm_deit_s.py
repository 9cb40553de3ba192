# SCM on DeiT-S/16 (spec §2.9): TS-CAM + 4 training-only diffusion blocks on the 4-neighbour
# patch graph (threshold init 0.5, Newton-Schulz 16/4/4/4 steps); inference = min-max
# normalised attention x class map. Plain cross-entropy (weight 1).
_base_ = ['./tscam_deit_s.py']
model = dict(
    type='SCMLocalizer',
    normalize_attention=True,
    ssfm=dict(type='SSFM', graph='four_neighbour', num_layers=4, threshold_init=0.5,
              on_divergence='fallback'),
)
