import subprocess
import sys


def test_cub_cli(tmp_path):
    root = tmp_path / 'CUB_200_2011'
    root.mkdir()
    (root / 'images.txt').write_text('1 001.A/a.jpg\n2 001.A/b.jpg\n')
    (root / 'image_class_labels.txt').write_text('1 1\n2 1\n')
    (root / 'train_test_split.txt').write_text('1 1\n2 0\n')
    (root / 'bounding_boxes.txt').write_text('1 1.0 2.0 3.0 4.0\n2 0.0 0.0 5.0 5.0\n')
    (root / 'classes.txt').write_text('1 001.A\n')
    out = tmp_path / 'meta'
    res = subprocess.run([sys.executable, 'tools/dataset_converters/cub.py', str(root), str(out),
                          '--no-sizes'], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert (out / 'train' / 'localization.txt').read_text() == '001.A/a.jpg,1,2,4,6\n'
    assert (out / 'test' / 'class_labels.txt').read_text() == '001.A/b.jpg,0\n'
