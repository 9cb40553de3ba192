"""Install wsol_mm (``pip install -e .``); requirements live in requirements/."""
import os.path as osp

from setuptools import find_packages, setup


def read_requirements(name: str) -> list:
    path = osp.join(osp.dirname(__file__), 'requirements', name)
    with open(path, encoding='utf-8') as f:
        return [line.strip() for line in f if line.strip() and not line.startswith('#')]


def read_version() -> str:
    scope: dict = {}
    with open(osp.join(osp.dirname(__file__), 'wsol_mm', 'version.py'), encoding='utf-8') as f:
        exec(f.read(), scope)
    return scope['__version__']


setup(
    name='wsol_mm',
    version=read_version(),
    description='OpenMMLab-style toolbox for weakly supervised object localization',
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('configs', 'tools', 'tests', 'benchmarks')),
    python_requires='>=3.9',
    install_requires=read_requirements('runtime.txt'),
    extras_require=dict(tests=read_requirements('tests.txt'),
                        optional=read_requirements('optional.txt')),
    license='Apache-2.0',
)
