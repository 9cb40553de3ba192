"""Make a checkpoint ready to share: ``publish_model.py IN.pth OUT.pth``.

Keeps the weights and plain metadata (drops the optimizer, schedulers and message hub, so
``torch.load(..., weights_only=True)`` reads it) and names the file
``OUT_<YYYYMMDD>-<first 8 hex digits of its sha256>.pth``, as the OpenMMLab model zoos do.
"""
import argparse
import sys

import wsol_mm  # noqa: F401  (compat shims first: mmengine checkpoints under torch >= 2.6)
from wsol_mm.utils.publish import publish_checkpoint


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Strip and name a checkpoint for release')
    parser.add_argument('in_file', help='checkpoint written by training (trusted file)')
    parser.add_argument('out_file', help='output name; date and hash are appended')
    parser.add_argument('--keep-ema', action='store_true',
                        help='keep an ema_state_dict if present')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    final = publish_checkpoint(args.in_file, args.out_file, keep_ema=args.keep_ema)
    print(f'published {final}')


if __name__ == '__main__':
    try:
        main()
    except (ValueError, FileNotFoundError) as err:  # user input: one message, no traceback
        sys.exit(f'publish_model.py: error: {err}')  # the tools' one-line format
