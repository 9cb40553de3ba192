"""Which backbone parameters count as "classifier" layers for the learning-rate rules."""
from typing import Dict, Tuple

#: The rules of :class:`WSOLOptimWrapperConstructor`.
LR_RULES = ('wsolevaluation', 'small_object_matters')


class BackboneLRMixin:
    """Backbones declare their learning-rate groups (in the spirit of timm's ``group_matcher``).

    ``lr_groups`` maps a rule to ``(kind, prefixes)`` of parameter names inside the
    backbone: kind ``'classifier'`` puts exactly those prefixes on the classifier lr
    (wsolevaluation: ResNet ``layer4``, VGG ``conv6``); kind ``'features'`` keeps exactly
    those on the base lr and puts the rest on the classifier lr (Small Object Matters'
    official quirk: everything but the ResNet stem BatchNorm). Default: no backbone
    parameter on the classifier lr under ``wsolevaluation``, all of them under
    ``small_object_matters``.
    """

    lr_groups: Dict[str, Tuple[str, Tuple[str, ...]]] = {}

    def is_classifier_param(self, name: str, rule: str = 'wsolevaluation') -> bool:
        """Whether backbone parameter ``name`` (relative to the backbone) gets the high lr."""
        if rule not in LR_RULES:
            raise ValueError(f'lr-group rule must be one of {LR_RULES}, got {rule!r}')
        default = ('classifier', ()) if rule == 'wsolevaluation' else ('features', ())
        kind, prefixes = self.lr_groups.get(rule, default)
        listed = bool(prefixes) and name.startswith(prefixes)
        return listed if kind == 'classifier' else not listed
