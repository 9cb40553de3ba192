"""Turn a released code's config into a wsol_mm config that inherits the matching configs/ file.

Sources:
  * LCA-MD / TS-CAM / SCM YAML, with the released train_cam.py arguments after ``--``:
      python tools/misc/import_config.py configs/CUB/deit_lca_md_small_patch16_224.yaml \\
          --out configs/imported/lca_md_cub.py -- --lr 5e-5 --opts MODEL.CAM_THR 0.1
  * a shell script running Small Object Matters' main.py (or train_cam.py --config_file):
      python tools/misc/import_config.py scripts/resnet_cub_ours.sh --out my_resnet_cub.py

Only the keys whose released value differs from the base are written (data root, batch per
GPU, lr, schedule, crop hyper-parameters, the HaS / CutMix / ADL / ACoL / SPG options ...);
every released option is listed with what wsol_mm does with it, or why it is ignored.
``--wsol_method has|cutmix|adl|acol|spg`` selects configs/<method>/<arch>_<dataset>.py (with
``--crop True``: configs/crop/<arch>_<dataset>_<method>.py where it exists). Without --out the
config is printed.
"""
import argparse
import sys

from wsol_mm.apis.config_import import import_script, import_yaml
from wsol_mm.apis.config_render import render_config, write_config
from wsol_mm.apis.release_formats import ReleasedConfigError


def parse_args(argv):
    released = []
    if '--' in argv:
        cut = argv.index('--')
        argv, released = argv[:cut], argv[cut + 1:]
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog='\n'.join(__doc__.split('\n')[1:]))
    parser.add_argument('source', help='released .yaml/.yml file, or a .sh script')
    parser.add_argument('--out', help='write the config here (default: print it)')
    parser.add_argument('--overwrite', action='store_true', help='replace an existing --out')
    parser.add_argument('--gpus', type=int, default=1,
                        help='GPUs (processes) of the wsol_mm run: the released batch is the '
                        'total over its DataParallel GPUs, wsol_mm batch_size is per GPU')
    parser.add_argument('--base', help='inherit this config instead of the one chosen from '
                        'MODEL.ARCH / DATA.DATASET or --architecture / --dataset_name')
    parser.add_argument('--release-root', help='released repository folder (to find the '
                        '--config_file named in a script)')
    args = parser.parse_args(argv)
    args.released = released
    return args


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        if args.source.endswith(('.yaml', '.yml')):
            result = import_yaml(args.source, args.released, args.gpus, args.base)
        else:
            if args.released:
                raise ReleasedConfigError('arguments after -- are for a YAML source; a script '
                                          'carries its own arguments')
            result = import_script(args.source, args.gpus, args.base, args.release_root)
        text = render_config(result, args.out or 'imported.py',
                             ' '.join([args.source] + args.released))
        if args.out:
            write_config(text, args.out, args.overwrite)
    except (ReleasedConfigError, FileNotFoundError, FileExistsError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    width = max(len(opt) for opt, _, _ in result.report)
    print(f'base: {result.base}')
    for opt, value, outcome in result.report:
        print(f'  {opt:<{width}}  {value:<24}  {outcome}')
    if args.out:
        print(f'written: {args.out}  (train: python tools/train.py {args.out})')
    else:
        print('\n' + text)
    return 0


if __name__ == '__main__':
    sys.exit(main())
