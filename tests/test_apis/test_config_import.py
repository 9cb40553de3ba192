"""tools/misc/import_config.py: released YAML files and shell scripts -> wsol_mm configs.

The released texts below are written for these tests (same field names as the releases,
values chosen to exercise the mapping).
"""
import glob
import os.path as osp
import sys

import pytest
from mmengine.config import Config
from script_runner import run_script

from wsol_mm.apis.config_import import (
    _MISSING,
    REPO_ROOT,
    base_value,
    import_script,
    import_yaml,
)
from wsol_mm.apis.config_render import render_config, write_config
from wsol_mm.apis.release_formats import ReleasedConfigError
from wsol_mm.apis.release_key_map import CROP_KEYS

LCA_MD_CUB = """\
BASIC:
  SAVE_ROOT: out/
  SEED: 7
  NUM_WORKERS: 2
MODEL:
  ARCH: deit_lca_md_small_patch16_224
  CAM_THR: 0.1
DATA:
  DATASET: CUB
  DATADIR: /mnt/birds/CUB_200_2011
  NUM_CLASSES: 200
TRAIN:
  BATCH_SIZE: 64
TEST:
  BATCH_SIZE: 64
SOLVER:
  START_LR: 0.002
  LR_STEPS: [20, ]
  NUM_EPOCHS: 40
  LR_FACTOR: 0.1
"""
TSCAM_IMAGENET = """\
BASIC:
  NUM_WORKERS: 8
MODEL:
  ARCH: deit_tscam_tiny_patch16_224
DATA:
  DATASET: ImageNet
  DATADIR: /mnt/imagenet
  NUM_CLASSES: 1000
TRAIN:
  BATCH_SIZE: 128
TEST:
  BATCH_SIZE: 256
SOLVER:
  LR_STEPS: [10, 12]
  NUM_EPOCHS: 30
"""
TSCAM_CUB = """\
MODEL:
  ARCH: deit_tscam_small_patch16_224
DATA:
  DATASET: CUB
  DATADIR: /mnt/CUB_200_2011
  NUM_CLASSES: 200
TRAIN:
  BATCH_SIZE: 128
SOLVER:
  NUM_EPOCHS: 60
"""
SOM_IMAGENET = """\
# my run
CUDA_VISIBLE_DEVICES=0 python main.py \\
  --data_root /mnt/wsol/ \\
  --metadata_root /mnt/wsol/metadata/ \\
  --architecture resnet50 --wsol_method crop --dataset_name ILSVRC \\
  --lr 0.00002 --loss_pos 0.70 --loss_neg 0.10 --loss_ratio 0.90 \\
  --crop_threshold 0.15 --crop_ratio 0.3 --epochs 10 --lr_decay_frequency 4 \\
  --batch_size 64 --weight_decay 1e-4 --large_feature_map TRUE --proxy_training_set TRUE \\
  --iou_threshold_list 30 50 70 --experiment_name mine
#--eval_size_ratio True
"""


def _write(tmp_path, name: str, text: str) -> str:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


def _generated(tmp_path, result, source='released') -> Config:
    out = str(tmp_path / 'gen' / 'imported.py')
    write_config(render_config(result, out, source), out, overwrite=True)
    return Config.fromfile(out)


def _crop_value(cfg: Config, option: str):
    """Value of a crop hyper-parameter wherever CROP_KEYS says it lives in ``cfg``."""
    values = [base_value(cfg.to_dict(), alt) for alt in CROP_KEYS[option].split('|')]
    return next(v for v in values if v is not _MISSING)


def _report(result) -> dict:
    return {opt: outcome for opt, _, outcome in result.report}


def test_lca_md_yaml_and_command_line(tmp_path):
    src = _write(tmp_path, 'CUB/deit_lca_md_small_patch16_224.yaml', LCA_MD_CUB)
    result = import_yaml(src, ['--lr', '1e-4', '--opts', 'TEST.BATCH_SIZE', '32'])
    assert result.base.endswith('configs/lca_md/deit_s_cub.py')
    cfg = _generated(tmp_path, result)
    assert cfg.train_dataloader.batch_size == 64 and cfg.auto_scale_lr.base_batch_size == 64
    assert cfg.test_dataloader.batch_size == 32  # --opts wins over the YAML
    assert cfg.optim_wrapper.optimizer.lr == pytest.approx(1e-4)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[key].dataset.data_root == '/mnt/birds/CUB_200_2011'
        assert cfg[key].dataset.native is True and cfg[key].num_workers == 2
    # released: x0.1 at the start of 1-based epochs 20 and 40 -> 0-based 19 and 39
    assert cfg.param_scheduler == [dict(type='MultiStepLR', by_epoch=True,
                                        milestones=[19, 39], gamma=0.1)]
    assert cfg.train_cfg.max_epochs == 40 and cfg.randomness.seed == 7
    assert cfg.model == Config.fromfile(result.base).model  # the model is the base's
    report = _report(result)
    assert 'not read by the released training' in report['SOLVER.START_LR']
    assert 'outputs go to --work-dir' in report['BASIC.SAVE_ROOT']
    assert 'ignored: the base config has no val_evaluator[type=FixedThresholdLocMetric]' \
        in report['MODEL.CAM_THR']  # LCA-MD's sweep evaluator has no fixed threshold


def test_tscam_yaml_with_positional_overrides_and_gpus(tmp_path):
    src = _write(tmp_path, 'ILSVRC/deit_tscam_tiny_patch16_224.yaml', TSCAM_IMAGENET)
    result = import_yaml(src, ['--lr', '5e-4', 'MODEL.CAM_THR', '0.15'], gpus=4)
    assert result.base.endswith('configs/tscam/deit_t_imagenet.py')
    cfg = _generated(tmp_path, result)
    base = Config.fromfile(result.base)
    assert 'batch_size' not in result.overrides.get('train_dataloader', {})
    assert cfg.train_dataloader.batch_size == base.train_dataloader.batch_size == 32  # 128 / 4
    assert cfg.test_dataloader.batch_size == 64  # 256 / 4
    assert cfg.param_scheduler[0].milestones == [9, 11, 19, 23, 29]  # 10, 12, 20, 24, 30
    assert cfg.train_cfg.max_epochs == 30
    thr = [m for m in cfg.test_evaluator if m.type == 'FixedThresholdLocMetric']
    assert thr[0].cam_thr == pytest.approx(0.15) and cfg.val_evaluator[1].cam_thr == 0.15
    assert cfg.test_dataloader.dataset.data_prefix == dict(img_path='')
    assert 'metadata/ILSVRC' in _report(result)['DATA.DATADIR']
    with pytest.raises(ReleasedConfigError, match='not divisible by --gpus 3'):
        import_yaml(src, [], gpus=3)


def test_tscam_cub_reads_the_native_archive_and_says_val_is_test(tmp_path):
    src = _write(tmp_path, 'deit_tscam_small_patch16_224.yaml', TSCAM_CUB)
    result = import_yaml(src, ['--lr', '5e-5'])
    cfg = _generated(tmp_path, result)
    assert cfg.val_dataloader.dataset.split == 'test' and cfg.val_dataloader.dataset.native
    assert cfg.notes.startswith('same-split')


@pytest.mark.parametrize('text, message', [
    ('MODEL:\n  ARCH: deit_tscam_small_patch16_224\n  CAM_TRH: 0.1\n',
     r'bad.yaml:3: MODEL.CAM_TRH is not a key of the released config tree'),
    ('TRAIN:\n  BATCH_SIZE: many\n', r'bad.yaml:2: TRAIN.BATCH_SIZE = .many. has the wrong type'),
    ('MODEL:\n  ARCH: resnet_cam\nDATA:\n  DATASET: CUB\n', r"bad.yaml:2: MODEL.ARCH 'resnet_cam'"),
    ('DATA: [1, 2\n', r'bad.yaml:\d+: not valid YAML'),
])
def test_bad_yaml_names_file_and_line(tmp_path, text, message):
    with pytest.raises(ReleasedConfigError, match=message):
        import_yaml(_write(tmp_path, 'bad.yaml', text))


def test_small_object_matters_script(tmp_path):
    result = import_script(_write(tmp_path, 'scripts/resnet_imagenet_mine.sh', SOM_IMAGENET))
    assert result.base.endswith('configs/crop/resnet50_imagenet.py')
    cfg = _generated(tmp_path, result)
    assert _crop_value(cfg, 'loss_pos') == pytest.approx(0.7)
    assert _crop_value(cfg, 'loss_neg') == pytest.approx(0.1)
    assert cfg.optim_wrapper.optimizer.lr == pytest.approx(2e-5)
    assert cfg.train_dataloader.batch_size == 64 and cfg.train_dataloader.dataset.proxy
    assert cfg.param_scheduler[0].milestones == [3, 7]  # decay before 1-based epochs 4, 8
    assert cfg.test_dataloader.dataset.ann_file == '/mnt/wsol/metadata/ILSVRC/test'
    assert cfg.val_dataloader.dataset.ann_file == '/mnt/wsol/metadata/ILSVRC/val'
    hooks = [h for h in cfg.custom_hooks if h.type == 'CropConsistencyHook']
    assert hooks[0].start_epoch == 0
    report = _report(result)
    assert 'MaxBoxAccV2 at IoU 30/50/70' in report['iou_threshold_list']
    assert 'same as the base' in report['crop_ratio']


@pytest.mark.parametrize('extra, base', [
    ('--norm_method ivr --percentile 0.3 --crop_with_norm TRUE', 'resnet50_imagenet_ivr.py'),
    ('--checkpoint_path ckpt/crop/resnet_imagenet_crop_da.pth.tar', 'resnet50_imagenet_da.py'),
])
def test_script_variants_choose_their_base(tmp_path, extra, base):
    text = SOM_IMAGENET.replace('--experiment_name mine', f'--experiment_name x {extra}')
    result = import_script(_write(tmp_path, 'v.sh', text))
    assert result.base.endswith(f'configs/crop/{base}')
    brid = SOM_IMAGENET.replace('--wsol_method crop', '--wsol_method brid --crop TRUE')
    assert import_script(_write(tmp_path, 'b.sh', brid)).base.endswith(
        'configs/crop/resnet50_imagenet_brid.py')


@pytest.mark.parametrize('edit, message', [
    (('--lr 0.00002', '--lr 0.00002 --lr_sheduler step'), r'v.sh:2: --lr_sheduler is not an '
     'argument of the released main.py'),
    (('--wsol_method crop', '--wsol_method da --crop TRUE'), 'does not run in the released'),
    (('--architecture resnet50', '--architecture resnet18'), 'has no wsol_mm config'),
    (('--lr 0.00002', '--lr $LR'), 'shell variables'),
    (('--large_feature_map TRUE', '--large_feature_map maybe'), 'is not a boolean'),
])
def test_bad_script_names_file_and_line(tmp_path, edit, message):
    with pytest.raises(ReleasedConfigError, match=message):
        import_script(_write(tmp_path, 'v.sh', SOM_IMAGENET.replace(*edit)))


def test_crop_key_table_matches_every_crop_config():
    """release_key_map.CROP_KEYS must follow configs/crop (update it when keys move)."""
    for path in sorted(glob.glob(osp.join(REPO_ROOT, 'configs', 'crop', '*.py'))):
        cfg = Config.fromfile(path).to_dict()
        for option, target in CROP_KEYS.items():
            if target.startswith('@'):
                continue  # computed in config_import (covered by the script tests)
            assert any(base_value(cfg, alt) is not _MISSING for alt in target.split('|')), \
                (path, option, target)


def _tool(args):
    return run_script([sys.executable, 'tools/misc/import_config.py'] + args, timeout=300)


def test_cli_writes_once_and_reports(tmp_path):
    src = _write(tmp_path, 'deit_lca_md_small_patch16_224.yaml', LCA_MD_CUB)
    out = str(tmp_path / 'mine.py')
    run = _tool([src, '--out', out, '--', '--lr', '2e-5'])
    assert run.returncode == 0, run.stderr
    assert 'SOLVER.START_LR' in run.stdout and 'ignored' in run.stdout
    assert Config.fromfile(out).optim_wrapper.optimizer.lr == pytest.approx(2e-5)
    again = _tool([src, '--out', out])
    assert again.returncode == 1 and '--overwrite' in again.stderr
    assert 'Traceback' not in again.stderr
