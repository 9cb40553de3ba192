"""get_flops.py: mmengine's complexity analysis at the test pipeline's input size."""
import re

from tests.test_tools.vis_tool_utils import run_tool


def test_flops_and_params_of_the_quickstart_model():
    proc = run_tool(['tools/analysis_tools/get_flops.py', 'configs/cam/resnet18_synthetic.py',
                     '--shape', '32'])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'Input shape: (3, 32, 32)' in proc.stdout
    params = re.search(r'^Params: ([\d.]+)M', proc.stdout, re.M)
    flops = re.search(r'^Flops: ([\d.]+)([GM])', proc.stdout, re.M)
    from wsol_mm.apis import init_localizer
    model = init_localizer('configs/cam/resnet18_synthetic.py')
    assert abs(float(params[1]) - sum(p.numel() for p in model.parameters()) / 1e6) < 1e-3
    # the ResNet18 trunk is 1.8 GMACs at 224 px, (32/224)^2 of it at 32 px (0.037 G); the
    # CAM variant keeps a larger last map and its head adds a little, well under 3x that
    gflops = float(flops[1]) / (1000 if flops[2] == 'M' else 1)
    assert 0.037 <= gflops < 0.11


def test_default_input_is_the_test_pipeline_size():
    from mmengine.config import Config

    from tools.analysis_tools.get_flops import pipeline_input_size
    assert pipeline_input_size(Config.fromfile('configs/cam/resnet18_synthetic.py')) == (112, 112)
    assert pipeline_input_size(Config.fromfile('configs/tscam/deit_s_cub.py')) == (224, 224)
