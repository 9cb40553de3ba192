"""The one metadata reader (datasets and eval_cams.py): records and file:line messages."""
import os
import os.path as osp

import numpy as np
import pytest

from wsol_mm.datasets.metadata import MetadataError, read_wsol_metadata


def _split(root, lines: dict) -> str:
    os.makedirs(root, exist_ok=True)
    for name, rows in lines.items():
        with open(osp.join(root, name), 'w') as f:
            f.write('\n'.join(rows))
    return str(root)


BOXES = {'image_ids.txt': ['a.png', 'b.png'], 'class_labels.txt': ['a.png,0', 'b.png,1'],
         'image_sizes.txt': ['a.png,20,10', 'b.png,20,10'],
         'localization.txt': ['a.png,1.5,2,5,6', 'b.png,0,0,19,9', 'b.png,3,3,4,4']}
MASKS = {'image_ids.txt': ['a.png', 'b.png'], 'class_labels.txt': ['a.png,0', 'b.png,1'],
         'localization.txt': ['a.png,m/a0.png,m/a_ign.png', 'a.png,m/a1.png,',
                              'b.png,m/b0.png,']}


def test_box_and_mask_records(tmp_path):
    recs = read_wsol_metadata(_split(tmp_path / 'box', BOXES))
    assert [r['img_id'] for r in recs] == ['a.png', 'b.png'] and [r['line'] for r in recs] == [1, 2]
    assert recs[0]['gt_bboxes'] == [[1.5, 2.0, 5.0, 6.0]] and recs[1]['ori_size'] == (20, 10)
    masks = read_wsol_metadata(_split(tmp_path / 'mask', MASKS), 'mask')
    assert masks[0]['mask_paths'] == ['m/a0.png', 'm/a1.png']
    assert masks[0]['ignore_path'] == 'm/a_ign.png' and masks[1]['ignore_path'] is None
    assert masks[0]['ori_size'] is None  # OpenImages has no image_sizes.txt


@pytest.mark.parametrize('name,rows,match', [
    ('localization.txt', ['a.png,1,2,5,6', 'b.png,0,0,x1,9'], r"localization.txt:2: 'x1' is not"),
    ('localization.txt', ['a.png,1,2,5,6', 'b.png,9,0,1,9'], r'localization.txt:2: box .*x0 <= x1'),
    ('localization.txt', ['a.png,1,2,5,6', 'b.png,0,0,19,10'],
     r'localization.txt:2: box .* outside the image of size W=20, H=10'),
    ('localization.txt', ['a.png,1,2,5,6', 'b.png,-1,0,3,3'], r'localization.txt:2: box'),
    ('image_sizes.txt', ['a.png,20,10', 'b.png,20,ten'], r"image_sizes.txt:2: 'ten' is not"),
    ('class_labels.txt', ['a.png,0'], r"image_ids.txt:2: image id 'b.png' .* no class label"),
    ('localization.txt', ['a.png,1,2,5,6'], r"image_ids.txt:2: image id 'b.png' has no box"),
    ('localization.txt', ['a.png,1,2,5,6', 'zz.png,1,1,2,2'],
     r"localization.txt:2: image id 'zz.png' is not listed"),
])
def test_every_message_names_file_and_line(tmp_path, name, rows, match):
    lines = dict(BOXES, **{name: rows})
    with pytest.raises(MetadataError, match=match):
        read_wsol_metadata(_split(tmp_path, lines))


def test_ignore_path_only_on_first_line(tmp_path):
    lines = dict(MASKS, **{'localization.txt': ['a.png,m/a0.png,', 'a.png,m/a1.png,m/i.png',
                                                 'b.png,m/b0.png,']})
    with pytest.raises(MetadataError, match=r'localization.txt:2: the ignore path'):
        read_wsol_metadata(_split(tmp_path, lines), 'mask')


def test_eval_cams_reads_through_the_dataset_reader(tmp_path):
    """Offline evaluation has no reader of its own: a missing size line is reported with
    the id's line, and boxes are rescaled with wsolevaluation's arithmetic."""
    from wsol_mm.evaluation.functional import rescale_boxes, save_scoremap
    from wsol_mm.evaluation.offline_eval import metadata_samples
    lines = dict(BOXES, **{'image_sizes.txt': ['a.png,20,10']})
    split = _split(tmp_path / 'split', lines)
    for img_id in ('a.png', 'b.png'):
        save_scoremap(str(tmp_path / 'cams'), img_id, np.zeros((7, 9)))
    with pytest.raises(MetadataError, match=r"image_ids.txt:2: image id 'b.png' has no line in"):
        next(metadata_samples(str(tmp_path / 'cams'), split, 'box'))
    # x * dst / src (multiply first), as resize_bbox: 285 * 112 / 380 = 84.0, not 83.99...
    assert rescale_boxes([[285, 0, 285, 0]], (380, 10), (112, 10)).tolist() == [[84, 0, 84, 0]]
