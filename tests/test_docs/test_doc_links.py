"""Every relative link of the repository's markdown resolves, anchors included
(``tools/misc/check_doc_links.py``), and the checker finds what breaks them."""
import os.path as osp

import pytest
from script_runner import load_script

ROOT = osp.join(osp.dirname(__file__), '..', '..')


def _checker():
    return load_script(osp.join(ROOT, 'tools', 'misc', 'check_doc_links.py'))


def test_every_markdown_link_of_the_repository_resolves():
    checker = _checker()
    files = checker.markdown_files(osp.abspath(ROOT))
    names = {osp.relpath(p, osp.abspath(ROOT)) for p in files}
    assert {'README.md', 'docs/speed.md', 'docs/speed_design.md',
            'docs/evaluation.md'} <= names
    assert checker.broken_links(osp.abspath(ROOT)) == []


@pytest.mark.parametrize('heading, anchor', [
    ('`--amp`: bfloat16 on CPU and GPU', '--amp-bfloat16-on-cpu-and-gpu'),
    ('Paired steps and their 95 % interval (2026-12-07)',
     'paired-steps-and-their-95--interval-2026-12-07'),
    ('On a GPU (`benchmarks/gpu_checks.sh`)', 'on-a-gpu-benchmarksgpu_checkssh'),
    ("The MLP's GELU output, F(4x4, 3x3)", 'the-mlps-gelu-output-f4x4-3x3'),
])
def test_anchor_follows_github(heading, anchor):
    assert _checker().github_anchor(heading) == anchor


def test_checker_reports_missing_files_and_anchors(tmp_path):
    (tmp_path / 'docs').mkdir()
    (tmp_path / 'docs' / 'a.md').write_text(
        '# Title\n\n## Part\n\n## Part\n\n```\n# not a heading\n[x](gone.md)\n```\n')
    (tmp_path / 'README.md').write_text(
        '[ok](docs/a.md#part) [ok](docs/a.md#part-1) [ok](#readme) [web](https://x.org/y#z)\n'
        '# Readme\n'
        '[bad file](docs/b.md) [bad anchor](docs/a.md#part-2)\n'
        '[fenced heading](docs/a.md#not-a-heading) [self](#nowhere)\n')
    problems = _checker().broken_links(str(tmp_path))
    assert problems == [
        'README.md:3: docs/b.md: no such file',
        'README.md:3: docs/a.md#part-2: no heading with this anchor in docs/a.md',
        'README.md:4: docs/a.md#not-a-heading: no heading with this anchor in docs/a.md',
        'README.md:4: #nowhere: no heading with this anchor in README.md',
    ]


def test_command_line_exit_status(tmp_path, capsys):
    checker = _checker()
    (tmp_path / 'x.md').write_text('# X\n[y](#x)\n')
    assert checker.main([str(tmp_path)]) == 0
    (tmp_path / 'x.md').write_text('# X\n[y](#y)\n')
    assert checker.main([str(tmp_path)]) == 1
    assert 'x.md:2: #y: no heading with this anchor in x.md' in capsys.readouterr().out
    assert checker.main([str(tmp_path / 'missing')]) == 2
    assert 'missing is not a folder; give the repository root' in capsys.readouterr().out
