"""wsolevaluation's weight initialisation (``wsol/util.py initialize_weights``)."""
import torch.nn as nn


def init_wsol_weights(module: nn.Module, mode: str = 'he') -> None:
    """Initialise every conv / BN / linear layer of ``module`` in place.

    Convs: ``'he'`` = Kaiming normal (fan_out, ReLU), ``'xavier'`` = Xavier
    uniform; conv biases 0. BatchNorm: weight 1, bias 0. Linear: N(0, 0.01),
    bias 0. Pretrained weights are loaded afterwards and overwrite what they cover.

    Args:
        module (nn.Module): module whose sub-modules are initialised.
        mode (str): ``'he'`` or ``'xavier'``.
    """
    if mode not in ('he', 'xavier'):
        raise ValueError(f"init mode must be 'he' or 'xavier', got {mode!r}")
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            if mode == 'he':
                nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
            else:
                nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, 0.01)
            nn.init.zeros_(m.bias)
