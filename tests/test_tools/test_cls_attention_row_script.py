"""``benchmarks/cls_attention_row.py``'s part 1: both rows timed and equal to float noise."""
import os.path as osp
import re

from tools_test_utils import run_tool


def test_row_table_times_both_rows_and_they_agree():
    out = run_tool([osp.join('benchmarks', 'cls_attention_row.py'), '--steps', '0', '--reps',
                    '1', '--batch', '2', '--threads', '1'])
    assert out.returncode == 0, out.stderr[-3000:]
    row = re.search(r'^\| ([0-9.]+) \| ([0-9.]+) \| ([0-9.]+)x \| ([0-9.e+-]+) \|$', out.stdout,
                    re.M)
    assert row, out.stdout
    keys_ms, folded_ms, speed_up, diff = (float(g) for g in row.groups())
    assert keys_ms > 0 and folded_ms > 0 and speed_up > 0
    assert diff < 1e-6  # rows are probabilities: float32 rounding only
    assert 'Part 2' not in out.stdout  # --steps 0 skips the training steps
