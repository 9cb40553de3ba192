"""Score trivial baselines (whole-image box, centred mean-size box) on a config's test split.

``python tools/analysis_tools/box_baselines.py CONFIG [--model-metrics RUN/test_metrics.json]``
"""
import argparse
import json

from mmengine.config import Config

import wsol_mm  # noqa: F401
from wsol_mm.apis.baselines import evaluate_box_baselines
from wsol_mm.apis.runner_utils import print_metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('--model-metrics', help='JSON file of the model\'s test metrics '
                        '(written by tools/test.py --metrics-json) to print beside them')
    args = parser.parse_args()
    baselines = evaluate_box_baselines(Config.fromfile(args.config))
    model = {}
    if args.model_metrics:
        with open(args.model_metrics) as f:
            model = json.load(f)
    first = model or next(iter(baselines.values()))
    columns = baselines if model else dict(list(baselines.items())[1:])
    print_metrics(first, title='test split: model vs trivial baselines (cls/* not meaningful '
                  'for baselines)' if model else 'test split: trivial baselines',
                  baselines=columns,
                  first_name='model' if model else next(iter(baselines)))


if __name__ == '__main__':
    main()
