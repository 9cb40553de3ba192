"""``benchmarks/global_mean_pool.py`` runs: both sides' gradients checked equal (the script
exits 1 otherwise), its table rows and the per-process peaks printed (never asserted)."""
import re

from script_runner import NUM, run_benchmark


def test_global_mean_pool_prints_both_maps_and_both_processes():
    out = run_benchmark('global_mean_pool.py', '--reps', '2', '--batch', '1', '--size', '64',
                        '--threads', '1', '--step-rounds', '1')
    for name, channels in (('ResNet50', 2048), ('VGG16', 1024)):
        row = (rf'^\| {name} \(1, {channels}, 8, 8\) \| {NUM} / {NUM} \| {NUM} / {NUM} \| '
               rf'{NUM}x / {NUM}x \| [0-9]+ / [0-9]+ \|$')
        assert re.search(row, out.stdout, re.M), out.stdout
    assert re.search(r'^x\.mean: \[[0-9]+\]; global_mean_pool: \[[0-9]+\]; difference of the '
                     r'lowest: -?[0-9]+ MB$', out.stdout, re.M), out.stdout
