"""What the training-step benchmarks print: the machine line, the step statistic and
images/s, megabytes and markdown tables (``train_step.py``, ``released_step.py``,
``linear_layers.py``)."""
import os
from statistics import median
from typing import List, Optional

import torch
from variants import Variant  # benchmarks/ (on sys.path)

from wsol_mm.engine.optimizers import cpu_bf16_units
from wsol_mm.malloc_preload import loaded_allocator
from wsol_mm.utils.cpu_info import cpu_model

STAT = dict(min=min, median=median)
STAT_NAME = ['min']  # set from --stat


def machine_line(device: str, threads: int) -> str:
    """The device, thread count, bfloat16 units, torch, allocator and load average."""
    if device.startswith('cuda'):
        name = torch.cuda.get_device_name(device)
        bf16 = 'bf16 yes' if torch.cuda.is_bf16_supported() else 'bf16 NO (emulated)'
        return f'GPU {name}, {bf16}, torch {torch.__version__}'
    cpu = cpu_model()
    return (f'CPU {cpu}, {threads} threads, {cpu_bf16_line(cpu_bf16_units())}, torch '
            f'{torch.__version__}, {loaded_allocator() or "glibc"} malloc, load average '
            f'{os.getloadavg()[0]:.1f}')


def cpu_bf16_line(units: list) -> str:
    """The machine line's bfloat16 part: which of AVX-512-BF16 and AMX the CPU has."""
    if not units:
        return 'bf16 NO: this CPU lacks AVX-512-BF16 and AMX, bf16 runs emulated (slow)'
    return f'bf16 yes ({" and ".join(units)}{"" if "AMX" in units else ", no AMX"})'


def step_time(variant: Variant) -> float:
    """The variant's step time in seconds by the chosen statistic (``STAT_NAME``)."""
    return STAT[STAT_NAME[0]](variant.times)


def round_ratios(num: Variant, den: Variant, steps: int) -> List[float]:
    """Per round (``steps`` timed steps each): ``num``'s step statistic over ``den``'s."""
    stat = STAT[STAT_NAME[0]]
    return [stat(num.times[i:i + steps]) / stat(den.times[i:i + steps])
            for i in range(0, min(len(num.times), len(den.times)), steps)]


def below_released(method: Variant, plain: Variant, steps: int, released: float) -> str:
    """yes / NO for a method's overhead over its plain step against the released one and,
    with several rounds, how many of them alone were below it (a target inside the spread
    between rounds)."""
    verdict = 'yes' if step_time(method) / step_time(plain) < released else 'NO'
    ratios = round_ratios(method, plain, steps)
    below = sum(r < released for r in ratios)
    return verdict + (f' ({below} of {len(ratios)} rounds below)' if len(ratios) > 1 else '')


def ips(variant: Variant, n: int) -> float:
    """Images per second of a step of ``n`` images."""
    return n / step_time(variant)


def mb(nbytes: Optional[int]) -> str:
    """Bytes as whole MiB, ``-`` when not measured."""
    return '-' if nbytes is None else f'{nbytes / 2**20:.0f}'


def markdown_table(header: List[str], rows: List[list]) -> None:
    """Print a markdown table."""
    print('| ' + ' | '.join(header) + ' |')
    print('|' + '|'.join(' --- ' for _ in header) + '|')
    for row in rows:
        print('| ' + ' | '.join(str(c) for c in row) + ' |')
