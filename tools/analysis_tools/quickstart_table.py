"""Print the README's Quick-start table from a run of the code (model vs the two baselines).

    bash tools/quickstart.sh                                   # trains work_dirs/resnet18_synthetic
    python tools/analysis_tools/quickstart_table.py            # re-tests its checkpoint, prints
    python tools/analysis_tools/quickstart_table.py --check README.md   # exit 1 if README differs
    python tools/analysis_tools/quickstart_table.py --repeats 5 # 5 fresh trainings: mean ± std

The model column is tools/test.py on the checkpoint (never a stored number); the baselines are
scored by the config's own evaluators. --repeats N trains N times (same seed unless
--vary-seed) and reports mean ± std (min-max): each training takes as long as the quickstart's
(about 4-5 min on 2 idle CPU cores, 15-18 min on 2 busy shared ones), so --repeats 5 takes
about 25 min on an idle 2-core machine.
"""
import argparse
import json
import os.path as osp
import sys

from mmengine.config import Config, DictAction

import wsol_mm  # noqa: F401
from wsol_mm.apis.baselines import evaluate_box_baselines
from wsol_mm.apis.quickstart_table import (
    check_table,
    evaluate_checkpoint,
    fixed_threshold,
    markdown_table,
    spread,
    train_and_evaluate,
)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog='\n'.join(__doc__.split('\n')[1:]))
    parser.add_argument('--config', default='configs/cam/resnet18_synthetic.py')
    parser.add_argument('--work-dir', default='work_dirs/resnet18_synthetic',
                        help='the quickstart run (its last_checkpoint is tested)')
    parser.add_argument('--checkpoint', help='test this checkpoint instead')
    parser.add_argument('--repeats', type=int, default=0,
                        help='train N times from scratch under WORK_DIR/repeat_<i> and report '
                        'the spread')
    parser.add_argument('--vary-seed', action='store_true',
                        help='with --repeats: seed i for run i (default: the config seed)')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='passed to train.py/test.py, e.g. train_cfg.max_epochs=1')
    parser.add_argument('--model-name', help='model column header')
    parser.add_argument('--check', metavar='MARKDOWN', help='compare with the table in this '
                        'file (README.md) and exit 1 when a number differs')
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    cfg = Config.fromfile(args.config)
    cfg.merge_from_dict({k: DictAction._parse_iterable(v) for k, _, v in
                         (o.partition('=') for o in args.cfg_options)})
    epochs = cfg.train_cfg.get('max_epochs')
    name = args.model_name or f'{osp.splitext(osp.basename(args.config))[0]}, {epochs} epochs'
    runs = None
    if args.repeats:
        results, seconds = [], []
        for i in range(args.repeats):
            metrics, took = train_and_evaluate(
                args.config, osp.join(args.work_dir, f'repeat_{i}'),
                seed=i if args.vary_seed else None, cfg_options=args.cfg_options)
            results.append(metrics)
            seconds.append(took)
            print(f'run {i}: {took:.0f} s training, maxboxaccv2/mean '
                  f'{metrics.get("maxboxaccv2/mean", float("nan")):.2f}', flush=True)
        runs = spread(results)
        model = {k: v['mean'] for k, v in runs.items()}
        name += f', {args.repeats} trainings'
        print(f'{args.repeats} trainings: {sum(seconds) / len(seconds):.0f} s each on average')
    else:
        checkpoint = args.checkpoint
        if checkpoint is None:
            last = osp.join(args.work_dir, 'last_checkpoint')
            if not osp.isfile(last):
                print(f'error: {last} not found; run bash tools/quickstart.sh first (or pass '
                      '--checkpoint)', file=sys.stderr)
                return 1
            checkpoint = open(last).read().strip()
        model = evaluate_checkpoint(args.config, checkpoint, args.work_dir, args.cfg_options)
        stored = osp.join(args.work_dir, 'test_metrics.json')
        if osp.isfile(stored) and not args.checkpoint:
            old = json.load(open(stored))
            stale = [k for k in model if k in old and abs(old[k] - model[k]) > 1e-6]
            if stale:
                print(f'note: {stored} differs from this evaluation in {stale}')
    baselines = evaluate_box_baselines(cfg)
    print('\n' + markdown_table(model, baselines, name, fixed_threshold(cfg), runs))
    if args.check:
        problems = check_table(open(args.check, encoding='utf-8').read(), model)
        for line in problems:
            print(f'{args.check}: {line}', file=sys.stderr)
        if problems:
            return 1
        print(f'\n{args.check}: the table matches this run')
    return 0


if __name__ == '__main__':
    sys.exit(main())
