"""Print the full config after inheritance and overrides: ``print_config.py CONFIG``."""
import argparse

import wsol_mm  # noqa: F401  (compat shims first)
from wsol_mm.apis.runner_utils import add_config_args, config_from_args, report_user_errors


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Print the whole config')
    parser.add_argument('config', help='config file (Python or YAML)')
    add_config_args(parser)
    parser.add_argument('--save-path', help='also write the merged config to this file')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    with report_user_errors('print_config.py'):
        cfg = config_from_args(args)
    print(cfg.pretty_text)
    if args.save_path:
        cfg.dump(args.save_path)
        print(f'saved to {args.save_path}')


if __name__ == '__main__':
    main()
