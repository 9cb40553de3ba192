"""Draw the CAM of one image: ``vis_cam.py IMAGE CONFIG CKPT --out cam.png``.

The figure shows, in the original image's pixels, the image, the CAM (colour bar) and the
overlay with the box of ``CAM > --cam-thr`` (and GT boxes given with ``--gt-box``), titled
with class names and scores; ``--topk K`` adds the maps of the K best classes.
"""
import argparse
import os.path as osp

import numpy as np

import wsol_mm  # noqa: F401  (compat shims first)
from wsol_mm.apis import get_class_names, inference_localizer, init_localizer, resolve_class
from wsol_mm.apis.runner_utils import add_config_args, config_from_args, report_user_errors
from wsol_mm.fileio import read_image
from wsol_mm.visualization import PredictionView, WSOLVisualizer, save_rgb


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='CAM figure of one image')
    parser.add_argument('image', help='image file')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', '--save-path', dest='out', required=True,
                        help='output PNG path')
    parser.add_argument('--target-class', help='class name or index whose map is drawn '
                        '(default: the top-1 prediction)')
    parser.add_argument('--topk', type=int, default=0,
                        help='also draw the maps of the K best classes')
    parser.add_argument('--cam-thr', type=float, default=0.2,
                        help='CAM threshold of the predicted box (fraction of the max)')
    parser.add_argument('--gt-box', type=float, nargs=4, action='append', default=[],
                        metavar=('X0', 'Y0', 'X1', 'Y1'),
                        help='a ground-truth box in original pixels (repeatable)')
    parser.add_argument('--device', default='cpu')
    add_config_args(parser)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    with report_user_errors('vis_cam.py'):
        bgr = read_image(args.image)  # errors name the file
        cfg = config_from_args(args)
        if args.topk > cfg.model.get('test_cfg', {}).get('topk_cams', 0):
            cfg.merge_from_dict({'model.test_cfg.topk_cams': args.topk})
        classes = get_class_names(cfg)
        target = (None if args.target_class is None
                  else resolve_class(args.target_class, classes))
        model = init_localizer(cfg, args.checkpoint, device=args.device)
    result = inference_localizer(model, bgr, args.cam_thr, target_class=target)
    view = PredictionView.from_sample(result['sample'], args.cam_thr, topk=args.topk)
    view.gt_label = None  # a --target-class label is not a ground truth
    view.gt_boxes = np.asarray(args.gt_box, np.float64).reshape(-1, 4)
    image = np.ascontiguousarray(bgr[..., ::-1])
    vis = WSOLVisualizer(name='vis_cam')
    vis.dataset_meta = dict(classes=classes)
    save_rgb(vis.draw_prediction(image, view, args.cam_thr, img_name=osp.basename(args.image)),
             args.out)
    label, cam_label = result['label'], result['cam_label']
    print(f'top-1 {classes[label]} ({label}), score {float(result["scores"][label]):.3f}; '
          f'CAM of {classes[cam_label]} ({cam_label}), box {result["box"]} '
          f'(original pixels, CAM > {args.cam_thr:g}) -> {args.out}')


if __name__ == '__main__':
    main()
