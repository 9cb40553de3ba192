"""Fields of the CPU description (``/proc/cpuinfo`` on Linux)."""
import platform

__all__ = ['cpu_info_field', 'cpu_model', 'cpu_vendor']


def cpu_info_field(key: str, path: str = '/proc/cpuinfo') -> str:
    """The value of the first ``key : value`` line of ``path`` (``/proc/cpuinfo``; e.g.
    ``model name``), or ``''`` when the file or the key is missing."""
    try:
        with open(path) as f:
            for line in f:
                name, sep, value = line.partition(':')
                if sep and name.strip() == key:
                    return value.strip()
    except OSError:  # not Linux
        pass
    return ''


def cpu_vendor() -> str:
    """The CPU's vendor string (``GenuineIntel``, ``AuthenticAMD``, ...; ``''`` if unknown)."""
    return cpu_info_field('vendor_id') or platform.processor()


def cpu_model() -> str:
    """The CPU's model name, for benchmark headers (``'unknown CPU'`` if unknown)."""
    return cpu_info_field('model name') or platform.processor() or 'unknown CPU'
