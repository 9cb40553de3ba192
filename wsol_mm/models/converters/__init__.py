from .wsolevaluation import KEY_MAPS, convert_wsolevaluation, detect_architecture

__all__ = ['KEY_MAPS', 'convert_wsolevaluation', 'detect_architecture']
