"""analyze_results.py: per-image table, size-bin gallery counts, scatter, summary."""
import csv
import json
import os.path as osp

from tests.test_tools.vis_tool_utils import (
    png_size,
    run_tool,
    shifted_box_records,
    tool_error,
    write_config,
)
from wsol_mm.utils.wsol_results_io import save_wsol_results


def test_failure_browser_writes_table_gallery_and_scatter(tiny_synthetic, tmp_path):
    cfg = write_config(str(tmp_path / 'cfg.py'), tiny_synthetic)
    records = shifted_box_records(cfg)
    result = str(tmp_path / 'preds.pkl')
    save_wsol_results(records, result)
    out = str(tmp_path / 'analysis')
    proc = run_tool(['tools/analysis_tools/analyze_results.py', cfg, result, '--out-dir', out,
                     '--topk', '1'])
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(osp.join(out, 'per_image.csv')) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(records) == 8
    assert {r['gt_class'] for r in rows} <= {'c0_disc', 'c1_square', 'c2_triangle', 'c3_cross'}
    summary = json.load(open(osp.join(out, 'summary.json')))
    counts = {b['name']: b['count'] for b in summary['bins']}
    for b in summary['bins']:  # per bin: its rows, one best and one worst when >= 2 images
        members = [r for r in rows if r['bin_name'] == b['name']]
        assert b['count'] == len(members)
        assert len(b['best']) == min(1, len(members))
        assert len(b['worst']) == min(1, max(len(members) - 1, 0))
        if b['count'] >= 2:
            ious = {r['img_id']: float(r['iou']) for r in members}
            assert ious[b['best'][0]] == max(ious.values())
            assert ious[b['worst'][0]] == min(ious.values())
    assert list(counts) == sorted(counts, key=lambda n: float(n.split('_')[1].split('-')[0]))
    filled = sum(1 for c in counts.values() if c)
    h, w = png_size(osp.join(out, 'gallery.png'))
    assert h == round(100 * (1.1 + filled * 2.65)) and w == round(100 * (1.7 + 2 * 2.1 + 0.4))
    assert png_size(osp.join(out, 'iou_vs_size.png')) == (580, 1000)
    assert f'{summary["accuracy"]:.2f} % of 8 images' in proc.stdout


def test_wrong_file_is_one_message(tiny_synthetic, tmp_path, monkeypatch):
    cfg = write_config(str(tmp_path / 'cfg.py'), tiny_synthetic)
    bad = tmp_path / 'bad.pkl'
    bad.write_bytes(b'not a pickle')
    message = tool_error(['tools/analysis_tools/analyze_results.py', cfg, str(bad), '--out-dir',
                          str(tmp_path / 'o')], monkeypatch)
    assert message.startswith('analyze_results.py:') and 'not a wsol_mm results file' in message
