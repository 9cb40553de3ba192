"""Registration of every wsol_mm module and the default scope."""
import datetime
import warnings

from mmengine import DefaultScope


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import every subpackage so that all classes are in their registries.

    Args:
        init_default_scope (bool): Also make ``wsol_mm`` the current default
            scope, so that builds outside the Runner find our classes.
            Defaults to True.
    """
    import wsol_mm.datasets.registration  # noqa: F401
    import wsol_mm.engine  # noqa: F401
    import wsol_mm.evaluation.metrics  # noqa: F401
    import wsol_mm.models  # noqa: F401
    import wsol_mm.structures  # noqa: F401
    import wsol_mm.visualization  # noqa: F401

    if not init_default_scope:
        return
    current = DefaultScope.get_current_instance()
    if current is None:
        DefaultScope.get_instance('wsol_mm', scope_name='wsol_mm')
    elif current.scope_name != 'wsol_mm':
        warnings.warn(f'The current default scope "{current.scope_name}" is not "wsol_mm"; '
                      'a new scope named after the current time is created for wsol_mm.')
        name = f'wsol_mm-{datetime.datetime.now()}'
        DefaultScope.get_instance(name, scope_name='wsol_mm')
