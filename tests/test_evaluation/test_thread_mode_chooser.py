"""ThreadModeChooser: both ways measured first, the faster one taken, the other one tried
at growing intervals, a slowed way left at once."""
import pytest

from wsol_mm.evaluation.functional import ThreadModeChooser

PIXELS = 1000


def _run(chooser, seconds, groups):
    """Score ``groups`` groups, each way taking ``seconds[way]``; the ways taken."""
    ways = []
    for _ in range(groups):
        way = chooser.parallel()
        chooser.record(way, seconds[way], PIXELS)
        ways.append(way)
    return ways


def test_both_ways_measured_first_and_first_timings_dropped():
    chooser = ThreadModeChooser()
    ways = _run(chooser, {True: 1.0, False: 2.0}, 4)
    assert ways == [True, False, True, False]
    assert chooser.counts == {True: 2, False: 2}
    assert chooser.rates == {True: pytest.approx(1e-3), False: pytest.approx(2e-3)}
    # a first timing (a kernel loaded from the cache) never counts
    chooser = ThreadModeChooser()
    chooser.record(True, 100.0, PIXELS)
    assert chooser.rates[True] is None


@pytest.mark.parametrize('fast', [True, False])
def test_the_faster_way_runs_and_the_other_is_tried_at_doubling_intervals(fast):
    chooser = ThreadModeChooser(first_interval=2, max_interval=8)
    seconds = {fast: 1.0, not fast: 3.0}
    ways = _run(chooser, seconds, 4 + 40)[4:]
    tried = [i for i, way in enumerate(ways) if way != fast]
    # after each confirming try the interval doubles: 2, 4, 8, 8, ...
    assert [b - a for a, b in zip(tried, tried[1:])][:3] == [4, 8, 8]
    assert chooser.choice == fast and chooser.interval == 8
    assert len(tried) < len(ways) // 4


def test_a_slowed_way_is_left_at_once_and_taken_back_after_the_load():
    """A busy core slows numba's threads tenfold: the next group already runs on the
    calling thread, numba's threads are tried at doubling intervals, and the first try
    after the load has gone takes them back."""
    chooser = ThreadModeChooser(first_interval=2, max_interval=64)
    _run(chooser, {True: 1.0, False: 2.0}, 4 + 80)
    assert chooser.choice is True and chooser.interval == 64
    ways = _run(chooser, {True: 10.0, False: 2.0}, 40)
    assert ways[:2] == [True, False] and chooser.choice is False
    assert [i for i, way in enumerate(ways) if way] == [0, 2, 6, 14, 30]
    ways = _run(chooser, {True: 1.0, False: 2.0}, 40)
    first = ways.index(True)
    assert first <= 32 and ways[first + 1] is True and chooser.choice is True


def test_reset_and_argument_checks():
    chooser = ThreadModeChooser()
    _run(chooser, {True: 1.0, False: 2.0}, 10)
    chooser.reset()
    assert chooser.rates == {True: None, False: None} and chooser.counts == {True: 0, False: 0}
    with pytest.raises(ValueError, match='first_interval'):
        ThreadModeChooser(first_interval=0)
    with pytest.raises(ValueError, match='max_interval'):
        ThreadModeChooser(first_interval=8, max_interval=4)
    with pytest.raises(ValueError, match='weight'):
        ThreadModeChooser(weight=0.0)
