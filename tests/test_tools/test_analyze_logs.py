"""analyze_logs.py: curve values are the JSON's, training time per epoch."""
import json
import re

import numpy as np
import pytest

from tests.test_tools.vis_tool_utils import png_size, run_inprocess, tool_error


@pytest.fixture()
def scalars(tmp_path) -> str:
    run = tmp_path / 'work' / '20260101_000000' / 'vis_data'
    run.mkdir(parents=True)
    lines = []
    it = 0
    for epoch in (1, 2, 3):
        for i in range(4):
            it += 1
            lines.append(dict(lr=0.1, loss=5.0 / it, time=2.0 if i == 0 else 0.1 * epoch,
                              epoch=epoch, iter=it, step=it))
        lines.append({'maxboxaccv2/mean': [30.0, 45.5, 41.0][epoch - 1], 'step': epoch})
    (run / 'scalars.json').write_text('\n'.join(json.dumps(r) for r in lines) + '\n')
    return str(tmp_path / 'work')


def test_plot_curve_values_equal_the_json(scalars, tmp_path, monkeypatch, capsys):
    out = str(tmp_path / 'curves.png')
    run_inprocess(['tools/analysis_tools/analyze_logs.py', 'plot_curve', scalars, '--keys',
                   'loss', 'maxboxaccv2/mean', '--out', out, '--title', 'run'], monkeypatch)
    stdout = capsys.readouterr().out
    loss = re.search(r'^loss: (\d+) points, first ([\d.e-]+) at 1, last ([\d.e-]+) at 12',
                     stdout, re.M)
    assert loss and int(loss[1]) == 12 and float(loss[2]) == 5.0
    assert np.isclose(float(loss[3]), 5.0 / 12, rtol=1e-5)
    acc = re.search(r'^maxboxaccv2/mean: 3 points, first 30 at 1, last 41 at 3, min 30, '
                    r'max 45.5$', stdout, re.M)
    assert acc, stdout
    h, w = png_size(out)
    assert (h, w) == (460, 1340)  # two panels: iterations and epochs
    from wsol_mm.visualization.log_curves import load_scalars, plot_curves
    _, series = plot_curves([load_scalars(scalars)], ['maxboxaccv2/mean'])
    x, y = series['maxboxaccv2/mean']
    assert x.tolist() == [1, 2, 3] and y.tolist() == [30.0, 45.5, 41.0]


def test_cal_train_time_leaves_out_the_warm_up_iteration(scalars, monkeypatch, capsys):
    run_inprocess(['tools/analysis_tools/analyze_logs.py', 'cal_train_time', scalars],
                  monkeypatch)
    out = capsys.readouterr().out
    assert 'slowest epoch 3, average time is 0.3000 s/iter' in out
    assert 'fastest epoch 1, average time is 0.1000 s/iter' in out
    assert 'average iter time: 0.2000 s/iter' in out
    run_inprocess(['tools/analysis_tools/analyze_logs.py', 'cal_train_time', scalars,
                   '--include-outliers'], monkeypatch)
    assert 'fastest epoch 1, average time is 0.5750 s/iter' in capsys.readouterr().out


def test_unknown_key_lists_the_keys(scalars, tmp_path, monkeypatch):
    message = tool_error(['tools/analysis_tools/analyze_logs.py', 'plot_curve', scalars, '--keys',
                          'los', '--out', str(tmp_path / 'x.png')], monkeypatch)
    assert "no key 'los'" in message and 'loss' in message
