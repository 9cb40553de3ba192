"""Scoring on several threads: same records in the same order, errors reach the caller."""
import threading
import time

import numpy as np
import pytest
from eval_test_utils import random_boxes, random_map

from wsol_mm.evaluation.scorers import (
    FixedThresholdLocScorer,
    MaxBoxAccScorer,
    MaxBoxAccV2Scorer,
    PxAPScorer,
    ThresholdSweepLocScorer,
    image_pool,
)
from wsol_mm.evaluation.scorers.image_pool import (
    eval_threads,
    map_chunks,
    map_images,
    set_eval_threads,
)


@pytest.fixture
def threads():
    yield set_eval_threads
    set_eval_threads(None)


def _samples(num: int) -> list:
    rng = np.random.default_rng(7)
    out = []
    for i in range(num):
        cam = random_map(rng, ('smooth', 'noise', 'ring', 'multi')[i % 4]).astype(np.float32)
        h, w = cam.shape
        mask = np.zeros((h, w), bool)
        mask[h // 4:h // 2, w // 3:w // 2 + 2] = True
        score = rng.random(10)
        cams = np.stack([cam, cam[::-1].copy(), cam[:, ::-1].copy()])
        out.append(dict(pred_cam=cam, gt_bboxes=random_boxes(rng, h, w), gt_mask=mask,
                        gt_label=int(rng.integers(10)), pred_score=score, pred_cams=cams,
                        pred_cam_labels=np.argsort(-score)[:3]))
    return out


def _records_equal(a, b) -> bool:
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_records_equal(a[k], b[k]) for k in a)
    return np.array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize('make', [
    lambda: MaxBoxAccScorer(cam_curve_interval=0.01),
    lambda: MaxBoxAccV2Scorer(cam_curve_interval=0.01),
    lambda: PxAPScorer(cam_curve_interval=0.01),
    lambda: ThresholdSweepLocScorer(cam_curve_interval=0.05, topk=3),
    lambda: FixedThresholdLocScorer(curve_interval=0.05),
])
def test_records_do_not_depend_on_the_thread_count(threads, make):
    samples = _samples(13)  # not a multiple of the thread counts
    per_count = []
    for count in (1, 2, 3):
        threads(count)
        scorer = make()
        scorer.process(None, samples[:5])
        scorer.process(None, samples[5:])
        per_count.append(scorer.results)
    assert len(per_count[0]) == 13
    for records in per_count[1:]:
        assert all(_records_equal(a, b) for a, b in zip(per_count[0], records))
    # and the records really are per image: a single image scores the same alone
    threads(1)
    alone = make()
    alone.process(None, samples[6:7])
    assert _records_equal(alone.results[0], per_count[2][6])


def test_fixed_protocol_threads_only_with_curves(threads):
    """The fixed protocol's record is one contour search: scored in the calling thread
    unless ``curve_interval`` adds a union-find scan per image; same records either way."""
    samples = _samples(7)
    threads(2)
    plain, curves = FixedThresholdLocScorer(), FixedThresholdLocScorer(curve_interval=0.05)
    assert not plain.threaded and curves.threaded
    plain.process(None, samples)
    curves.process(None, samples)
    for a, b in zip(plain.results, curves.results):
        assert _records_equal(a, {k: v for k, v in b.items() if k != 'curve'})


def test_map_images_keeps_order_and_raises(threads):
    threads(3)
    assert map_images(lambda x: x * x, range(10)) == [x * x for x in range(10)]
    assert map_images(lambda x: x, []) == []

    def bad(x):
        if x == 7:
            raise ValueError('image 7 is broken')
        return x

    with pytest.raises(ValueError, match='image 7 is broken'):
        map_images(bad, range(10))
    # a thread scoring a chunk runs a nested batch inline (no pool deadlock)
    nested = map_images(lambda x: map_images(lambda y: x + y, range(3)), range(4))
    assert nested == [[x + y for y in range(3)] for x in range(4)]
    inline = map_images(lambda x: map_images(lambda y: threading.get_ident(), range(3)),
                        range(3))
    assert all(len(set(ids)) == 1 for ids in inline)


def test_map_chunks_hands_out_units_in_turn(threads):
    """The threads claim units of ``unit`` consecutive items until none is left; the
    results come back in input order; one thread gets all the items in one call; a result
    list of the wrong length is an error."""
    threads(3)
    chunks = []
    assert map_chunks(lambda c: chunks.append(list(c)) or [x + 1 for x in c],
                      range(8), unit=3) == list(range(1, 9))
    assert sorted(chunks) == [[0, 1, 2], [3, 4, 5], [6, 7]]
    assert map_chunks(lambda c: [2 * x for x in c], []) == []
    with pytest.raises(RuntimeError, match='returned 1 results for 2 items'):
        map_chunks(lambda c: c[:1], range(8), unit=2)
    with pytest.raises(ValueError, match='unit must be a positive integer'):
        map_chunks(list, range(8), unit=0)
    threads(1)
    assert map_chunks(lambda c: [len(c)] * len(c), range(5), unit=2) == [5] * 5


def test_a_late_thread_claims_fewer_units(threads):
    """A thread held up (a worker that wakes late, a costly image) leaves the remaining
    units to the others: no thread waits for a fixed share of a slow one."""
    threads(2)
    seen = []
    rest_done = threading.Event()

    def slow_first(chunk):
        if chunk[0] == 0:  # the caller's unit: held up until the other five are scored
            assert rest_done.wait(10)
        seen.append((chunk[0], threading.current_thread().name))
        if chunk[0] == 5:
            rest_done.set()
        return chunk

    assert map_chunks(slow_first, range(6)) == list(range(6))
    assert [first for first, _ in seen] == [1, 2, 3, 4, 5, 0]
    assert len({name for first, name in seen if first}) == 1  # one thread did them all


def test_calling_thread_scores_too(threads):
    """The caller claims units itself, the first one first (a caller that slept while its
    workers ran made Linux wake them on the caller's CPU, where a short batch ran one
    thread at a time); an exception is raised only after the workers finished, and it is
    the first in input order."""
    threads(3)
    names = map_images(lambda x: threading.current_thread().name, range(7))
    caller = threading.current_thread().name
    assert names[0] == caller
    assert all(n == caller or n.startswith('wsol_mm_eval') for n in names)
    finished = []
    all_claimed = threading.Barrier(3, timeout=10)  # one item per thread

    def failing_caller_slow_workers(x):
        all_claimed.wait()
        if x:
            time.sleep(0.2 if x == 1 else 0.1)
        if x != 1:
            raise ValueError(f'image {x} is broken')
        finished.append(x)
        return x

    with pytest.raises(ValueError, match='image 0 is broken'):  # not image 2's
        map_images(failing_caller_slow_workers, range(3))
    assert finished == [1]  # the workers were done when the error came out


def test_thread_count_settings(threads, monkeypatch):
    monkeypatch.setenv(image_pool.ENV_VAR, '3')
    assert eval_threads() == 3
    threads(2)
    assert eval_threads() == 2
    threads(None)
    monkeypatch.setenv(image_pool.ENV_VAR, 'two')
    with pytest.raises(ValueError, match='WSOL_MM_EVAL_THREADS'):
        eval_threads()
    monkeypatch.delenv(image_pool.ENV_VAR)
    monkeypatch.setattr(image_pool, '_usable_cpus', lambda: 16)
    monkeypatch.delenv('LOCAL_WORLD_SIZE', raising=False)
    assert eval_threads() == 4
    monkeypatch.setenv('LOCAL_WORLD_SIZE', '8')  # 8 ranks share 16 CPUs: 2 threads each
    assert eval_threads() == 2
    monkeypatch.setenv('LOCAL_WORLD_SIZE', '32')
    assert eval_threads() == 1
    with pytest.raises(ValueError, match='positive integer'):
        threads(0)


def test_forked_child_scores_with_its_own_pool(threads):
    """A child forked after the parent used the pool (its threads are not inherited)."""
    import multiprocessing as mp
    threads(2)
    assert map_images(lambda x: x + 1, range(4)) == [1, 2, 3, 4]  # the parent's pool exists
    ctx = mp.get_context('fork')
    with ctx.Pool(1) as pool:
        got = pool.apply_async(_score_in_child).get(timeout=120)
    assert got == [0, 2, 4, 6]


def _score_in_child():
    return map_images(lambda x: 2 * x, range(4))
