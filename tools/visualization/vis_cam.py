"""Draw the CAM of one image: ``vis_cam.py IMAGE CONFIG CKPT --out x.png``."""
import argparse

import mmcv

import wsol_mm  # noqa: F401
from wsol_mm.apis import inference_localizer, init_localizer
from wsol_mm.apis.runner_utils import report_user_errors
from wsol_mm.fileio import read_image
from wsol_mm.structures import WSOLDataSample
from wsol_mm.visualization import WSOLVisualizer


def main() -> None:
    parser = argparse.ArgumentParser(description='CAM overlay of one image')
    parser.add_argument('image')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--out', required=True, help='output PNG path')
    parser.add_argument('--cam-thr', type=float, default=0.2, help='threshold of the box')
    parser.add_argument('--device', default='cpu')
    args = parser.parse_args()
    with report_user_errors('vis_cam.py'):
        bgr = read_image(args.image)  # errors name the file
        model = init_localizer(args.config, args.checkpoint, device=args.device)
    result = inference_localizer(model, bgr, cam_thr=args.cam_thr)
    img = mmcv.imresize(mmcv.bgr2rgb(bgr), result['img_shape'][::-1])
    sample = WSOLDataSample(metainfo=dict(img_shape=result['img_shape']))
    sample.pred_cam = result['cam']
    vis = WSOLVisualizer(name='vis_cam')
    mmcv.imwrite(vis.draw_cam_overlay(img, sample, args.cam_thr)[..., ::-1], args.out)
    classes = model.cfg.get('classes')
    print(f'label {result["label"]} ({classes[result["label"]] if classes else "-"}), '
          f'score {result["scores"][result["label"]]:.3f}, box {result["box"]} -> {args.out}')


if __name__ == '__main__':
    main()
