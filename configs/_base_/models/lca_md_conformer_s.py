# LCA-MD on Conformer-S/16 (not released; built on SCM's `conformer_scm_small_patch16`
# pattern, spec §2.8): TFCM and SSFM act on the transformer branch's class map, logits of the
# refined map = GAP + the CNN branch's linear head. Module defaults as `lca_md_deit_s.py`.
_base_ = ['./tscam_conformer_s.py']
model = dict(
    type='LCAMD',
    normalize_attention=True,
    head=dict(loss=dict(type='CrossEntropyLoss', loss_weight=0.6)),
)
