# LCA-MD on Conformer-S/16 (not released; built on SCM's `conformer_scm_small_patch16`
# pattern, spec §2.8): TFCM and SSFM act on the transformer branch's class map, logits of the
# refined map = GAP + the CNN branch's linear head. Necks and weights as `lca_md_deit_s.py`.
_base_ = ['./tscam_conformer_s.py']
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
