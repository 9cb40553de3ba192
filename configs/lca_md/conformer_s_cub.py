_base_ = [
    '../_base_/models/lca_md_conformer_s.py',
    '../_base_/datasets/cub_native_lca_md_bs256_224.py',
    '../_base_/schedules/adamw_step30_30e.py',
    '../_base_/default_runtime.py',
]
model = dict(head=dict(num_classes=200))
