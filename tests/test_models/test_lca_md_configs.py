"""SCM / LCA-MD configs: values of the released recipes (spec §2.7-§2.9, §3.4, §4.1)."""
import copy
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper

from wsol_mm.registry import MODELS
from wsol_mm.utils import register_all_modules

register_all_modules()
CFG_DIR = osp.join(osp.dirname(__file__), '..', '..', 'configs')
EXPECTED = {  # leaf: (method, arch, D, classes, lr, milestones, epochs, total batch, gpus)
    'lca_md/deit_s_cub': ('lca_md', 'deit_s', 384, 200, 5e-5, [29, 59], 60, 256, 1),
    'lca_md/deit_s_cub_wsoleval': ('lca_md', 'deit_s', 384, 200, 5e-5, [29, 59], 60, 256, 1),
    'lca_md/deit_b_cub': ('lca_md', 'deit_b', 768, 200, 5e-5, [29], 30, 256, 1),
    'lca_md/vit_s_cub': ('lca_md', 'vit_s', 384, 200, 5e-5, [29], 30, 256, 1),
    'lca_md/conformer_s_cub': ('lca_md', 'small', 384, 200, 5e-5, [29], 30, 256, 1),
    'lca_md/deit_s_imagenet': ('lca_md', 'deit_s', 384, 1000, 1e-6, [9, 11, 19], 20, 512, 4),
    'lca_md/deit_b_imagenet': ('lca_md', 'deit_b', 768, 1000, 1e-6, [9], 10, 512, 4),
    'scm/deit_s_cub': ('scm', 'deit_s', 384, 200, 5e-5, [29], 30, 16, 1),
    'scm/deit_s_imagenet': ('scm', 'deit_s', 384, 1000, 1e-6, [9, 11, 19], 20, 512, 4),
}


@pytest.mark.parametrize('name', sorted(EXPECTED))
def test_config_values(name):
    cfg = Config.fromfile(osp.join(CFG_DIR, f'{name}.py'))
    kind, arch, dim, classes, lr, milestones, epochs, batch, gpus = EXPECTED[name]
    model = cfg.model
    assert model.type == 'TSCAMLocalizer' and model.normalize_attention is True
    necks = model.neck if isinstance(model.neck, list) else [model.neck]
    assert [n.type for n in necks] == (['TFCM', 'SSFM'] if kind == 'lca_md' else ['SSFM'])
    assert model.backbone.arch == arch and model.backbone.drop_path_rate == 0.1
    assert model.head.in_channels == dim and model.head.num_classes == classes
    assert model.head.loss.get('loss_weight', 1.0) == (0.6 if kind == 'lca_md' else 1.0)
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.weight_decay, opt.eps) == ('AdamW', lr, 0.05, 1e-8)
    assert cfg.param_scheduler[0].milestones == milestones
    assert cfg.train_cfg.max_epochs == epochs
    assert cfg.train_dataloader.batch_size * gpus == batch == cfg.auto_scale_lr.base_batch_size
    for evaluator in (cfg.val_evaluator, cfg.test_evaluator):
        assert {m.type for m in evaluator} == {'ClsAccuracyMetric', 'ThresholdSweepLocMetric',
                                               'MaxBoxAccV2Metric'}
    val, test = cfg.val_dataloader.dataset, cfg.test_dataloader.dataset
    if val.get('native'):  # native CUB_200_2011: train/test only, evaluated on test (release)
        assert name.startswith('lca_md/') and name.endswith('_cub')
        assert (val.type, val.split, test.get('split', 'test')) == ('CUBDataset', 'test', 'test')
        assert cfg.notes.startswith('same-split')
    else:  # wsolevaluation layout: `val` (train-fullsup) selects, `test` is reported
        assert val.type in ('CUBDataset', 'ImageNetDataset') and not cfg.get('notes')
        assert (val.split, test.split) == ('val', 'test')
    train_ops = [t.type for t in cfg.train_dataloader.dataset.pipeline]
    if kind == 'lca_md' and 'cub' in name:  # timm DeiT augmentation
        assert train_ops[2:6] == ['RandomResizedCrop', 'RandomFlip', 'RandAugment',
                                  'RandomErasing']
        aug = cfg.train_dataloader.dataset.pipeline
        assert aug[4].config_str == 'rand-m9-mstd0.5-inc1' and aug[5].prob == 0.25
    else:  # TS-CAM augmentation
        assert train_ops[2:5] == ['Resize', 'RandomCrop', 'RandomFlip']


@pytest.mark.parametrize('name', ['lca_md/deit_s_imagenet', 'scm/deit_s_cub'])
def test_built_modules_and_no_decay(name):
    cfg = Config.fromfile(osp.join(CFG_DIR, f'{name}.py'))
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.backbone.update(pretrained=None, depth=1)
    model = MODELS.build(model_cfg)
    ssfm = model.neck[-1]
    if name.startswith('lca_md'):
        tfcm = model.neck[0]
        # Released defect fixed: TFCM follows the class count (1000), not 200.
        assert tuple(tfcm.conv.weight.shape) == (1000, 1000, 3, 3)
        assert (ssfm.graph, ssfm.cross, len(ssfm.layers)) == ('multi_direction', 3, 2)
        assert float(ssfm.layers[0].threshold.detach()) == pytest.approx(0.7)
        assert tfcm.loss_sim_max.alpha == 0.75 and tfcm.loss_sim_max.loss_weight == 0.4
        assert tfcm.loss_sim_min.loss_weight == 0.4
    else:
        assert (ssfm.graph, len(ssfm.layers)) == ('four_neighbour', 4)
        assert float(ssfm.layers[0].threshold.detach()) == pytest.approx(0.5)
    # timm's rule: the 1-D SSFM scalars get no weight decay.
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    scalars = {id(p) for layer in ssfm.layers for p in layer.parameters()}
    for group in wrapper.optimizer.param_groups:
        if any(id(p) in scalars for p in group['params']):
            assert group['weight_decay'] == 0.0
