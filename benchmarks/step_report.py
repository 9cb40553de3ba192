"""What the training-step benchmarks print: the machine line, the step statistic and
images/s, megabytes and markdown tables (``train_step.py``, ``released_step.py``,
``linear_layers.py``)."""
import os
from math import comb
from statistics import median
from typing import List, Optional, Tuple

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


def paired_ratios(num: Variant, den: Variant) -> List[float]:
    """Timed step ``i`` of ``num`` over timed step ``i`` of ``den``: the same round, one
    round-robin turn apart and (``run_family``'s seed, unless ``--independent-draws``) the
    same stochastic-depth draws, so a slow phase of the host or a step's own draws weigh on
    both sides of a ratio alike."""
    return [a / b for a, b in zip(num.times, den.times)]


def median_interval(values: List[float], confidence: float = 0.95
                    ) -> Optional[Tuple[float, float, float]]:
    """The median of ``values`` and the order-statistic interval around it that holds the
    median of their distribution with probability at least ``confidence`` (the sign
    test's interval: no assumption on the distribution's shape, only independent draws).

    The interval is ``[x_(k), x_(n+1-k)]`` of the sorted values for the largest ``k``
    with ``P(Binomial(n, 1/2) < k) <= (1 - confidence) / 2``; None when no ``k >= 1``
    exists (fewer than 6 values at 95 %).
    """
    n, tail = len(values), (1.0 - confidence) / 2.0
    k, below = 0, 0.0
    while k < n and below + comb(n, k) / 2.0**n <= tail:
        below += comb(n, k) / 2.0**n
        k += 1
    if k == 0:
        return None
    ordered = sorted(values)
    return median(ordered), ordered[k - 1], ordered[n - k]


def paired_reading(num: Variant, den: Variant, target: float, digits: int = 3) -> str:
    """``num``'s step time over ``den``'s from the paired steps: the median ratio, its 95 %
    interval (:func:`median_interval`) and where the interval lies against ``target``:
    ``below``, ``above`` or ``undecided`` (the target inside it)."""
    ratios = paired_ratios(num, den)
    found = median_interval(ratios)
    if found is None:
        return f'- (too few paired steps for a 95 % interval: {len(ratios)})'
    mid, low, high = found
    side = 'below' if high < target else 'above' if low > target else 'undecided'
    return f'{mid:.{digits}f} ({low:.{digits}f}-{high:.{digits}f}): {side} {target:.2f}'


PAIRED_NOTE = ('# paired steps: median of the per-step ratios (timed step i of each side: the '
               'same round, one turn apart, the same draws unless --independent-draws) and '
               'the interval that holds their '
               "distribution's median with 95 % probability (sign test, the steps taken as "
               'independent draws); below / above / undecided: that interval against the '
               'target')


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
