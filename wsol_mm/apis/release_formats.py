"""Readers of the released codes' configuration files and command lines.

* LCA-MD / TS-CAM / SCM YAML (``configs/CUB/deit_lca_md_small_patch16_224.yaml``):
  read as the released code does (every scalar through ``ast.literal_eval``,
  keys checked against the default tree), keeping each key's line number.
* Their command line (``tools_cam/train_cam.py --config_file F --lr 5e-5
  [--opts] KEY VALUE ...``).
* Small Object Matters' shell scripts (``python main.py --arg value ...``).

Every problem is one :class:`ReleasedConfigError` naming the file and line.
"""
import ast
import shlex
from typing import Dict, List, Optional, Tuple

import yaml

from .release_key_map import (
    SOM_DEFAULTS,
    YAML_CLI_DEFAULTS,
    YAML_CLI_FLAGS,
    YAML_CLI_UNUSED,
    YAML_DEFAULTS,
)

Located = Dict[str, Tuple[object, str]]  # option -> (value, 'file:line')


class ReleasedConfigError(ValueError):
    """A released config or command that cannot be imported; names file and line."""


def _literal(text: str):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _same_type(default, value) -> bool:
    if default is None or value is None:
        return True
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, (int, float)):
        return isinstance(value, (int, float))
    return isinstance(value, type(default))


def _check_yaml_key(key: str, value, where: str) -> None:
    if key not in YAML_DEFAULTS:
        raise ReleasedConfigError(f'{where}: {key} is not a key of the released config tree '
                                  '(lib/config/default.py); the released code rejects it too')
    if not _same_type(YAML_DEFAULTS[key], value):
        raise ReleasedConfigError(f'{where}: {key} = {value!r} has the wrong type (the '
                                  f'released default is {YAML_DEFAULTS[key]!r})')


def read_release_yaml(text: str, path: str) -> Located:
    """Options of an LCA-MD / TS-CAM / SCM YAML file, with their ``file:line``."""
    try:
        root = yaml.compose(text, Loader=yaml.BaseLoader)
    except yaml.YAMLError as err:
        mark = getattr(err, 'problem_mark', None)
        line = f':{mark.line + 1}' if mark is not None else ''
        raise ReleasedConfigError(f'{path}{line}: not valid YAML ({err})') from None
    if not isinstance(root, yaml.MappingNode):
        raise ReleasedConfigError(f'{path}: expected sections such as DATA: and TRAIN:')
    options: Located = {}
    for sec_node, body in root.value:
        section = sec_node.value
        if not isinstance(body, yaml.MappingNode):
            raise ReleasedConfigError(f'{path}:{sec_node.start_mark.line + 1}: section '
                                      f'{section} must hold KEY: VALUE lines')
        for key_node, value_node in body.value:
            key = f'{section}.{key_node.value}'
            where = f'{path}:{key_node.start_mark.line + 1}'
            if isinstance(value_node, yaml.SequenceNode):
                value = [_literal(item.value) for item in value_node.value]
            elif isinstance(value_node, yaml.ScalarNode):
                value = _literal(value_node.value)
            else:
                raise ReleasedConfigError(f'{where}: {key} must be a value or a list')
            _check_yaml_key(key, value, where)
            options[key] = (value, where)
    return options


def read_train_cam_args(tokens: List[str], where: str) -> Tuple[Optional[str], Located]:
    """``--config_file`` and the other options of a ``train_cam.py`` command line.

    Returns:
        tuple: the config file (or None) and the options (``--lr`` ... and the
        ``KEY VALUE`` overrides given with or without ``--opts``).
    """
    config_file, options = None, {}
    known = set(YAML_CLI_DEFAULTS) | set(YAML_CLI_UNUSED)
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok == '--opts':
            i += 1
            continue
        name, _, inline = tok.partition('=')
        if name in YAML_CLI_FLAGS:
            options[name] = (True, where)
            i += 1
        elif name == '--config_file' or name in known:
            if not inline and i + 1 >= len(tokens):
                raise ReleasedConfigError(f'{where}: {name} needs a value')
            value = inline or tokens[i + 1]
            i += 1 if inline else 2
            if name == '--config_file':
                config_file = value
            else:
                options[name] = (_literal(value), where)
        elif tok.startswith('-'):
            raise ReleasedConfigError(f'{where}: {tok} is not an option of the released '
                                      'train_cam.py')
        else:  # KEY VALUE pairs (TS-CAM: positional, LCA-MD/SCM: after --opts)
            if i + 1 >= len(tokens):
                raise ReleasedConfigError(f'{where}: {tok} has no value (KEY VALUE pairs)')
            value = _literal(tokens[i + 1])
            _check_yaml_key(tok, value, where)
            options[tok] = (value, where)
            i += 2
    return config_file, options


def read_main_py_args(tokens: List[str], where: str) -> Located:
    """Options of a Small Object Matters ``main.py`` command line."""
    options: Located = {}
    i = 0
    while i < len(tokens):
        name, _, inline = tokens[i].partition('=')
        if not name.startswith('--') or name[2:] not in SOM_DEFAULTS:
            raise ReleasedConfigError(f'{where}: {tokens[i]} is not an argument of the released '
                                      'main.py (config.py)')
        key = name[2:]
        values = [inline] if inline else []
        i += 1
        while not inline and i < len(tokens) and not tokens[i].startswith('--'):
            values.append(tokens[i])
            i += 1
        default = SOM_DEFAULTS[key]
        if isinstance(default, bool):
            value = _str2bool(values[0] if values else 'true', key, where)
        elif isinstance(default, list):
            value = [_literal(v) for v in values]
        elif not values:
            raise ReleasedConfigError(f'{where}: --{key} needs a value')
        else:
            value = _literal(values[0])
            if isinstance(default, (int, float)) and not isinstance(value, (int, float)):
                raise ReleasedConfigError(f'{where}: --{key} {values[0]!r} is not a number')
        options[key] = (value, where)
    return options


def _str2bool(text: str, key: str, where: str) -> bool:
    low = str(text).lower()
    if low in ('yes', 'true', 't', 'y', '1'):
        return True
    if low in ('no', 'false', 'f', 'n', '0'):
        return False
    raise ReleasedConfigError(f'{where}: --{key} {text!r} is not a boolean')


def shell_commands(text: str, path: str, programs: Tuple[str, ...]) -> List[Tuple[str, list]]:
    """``(file:line, arguments)`` of each command of a shell script that runs ``programs``.

    Comment lines are skipped and backslash continuations joined, as bash does.
    """
    found, logical, start = [], '', 0
    lines = text.splitlines()
    for lineno, line in enumerate(lines, 1):
        if not logical and line.strip().startswith('#'):
            continue
        if not logical:
            start = lineno
        stripped = line.rstrip()
        if stripped.endswith('\\'):
            logical += stripped[:-1] + ' '
            continue
        logical += line
        try:
            tokens = shlex.split(logical, comments=True)
        except ValueError as err:
            raise ReleasedConfigError(f'{path}:{start}: cannot split the command ({err})') \
                from None
        logical = ''
        for i, tok in enumerate(tokens):
            if tok.endswith(programs):
                if any('$' in t for t in tokens[i + 1:]):
                    raise ReleasedConfigError(
                        f'{path}:{start}: the command uses shell variables ($...); write '
                        'their values into it (or pass the YAML file itself)')
                found.append((f'{path}:{start}', tokens[i + 1:]))
                break
    return found
