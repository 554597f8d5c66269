"""Install mmsgnet. The OpenMMLab stack itself is installed by ``tools/install.sh``
(mmcv must be built from source with its ops, which pip cannot express as a dependency)."""
from setuptools import find_packages, setup


def get_version():
    scope = {}
    with open('mmsgnet/version.py') as f:
        exec(f.read(), scope)
    return scope['__version__']


setup(
    name='mmsgnet',
    version=get_version(),
    description='SipMask and SG-Net one-stage image/video instance segmentation '
    'for MMDetection 3.x',
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('configs', 'tools', 'tests')),
    python_requires='>=3.8',
    install_requires=[
        'mmengine==0.10.7', 'mmcv==2.1.0', 'mmdet==3.3.0', 'pycocotools>=2.0.10',
        'numpy', 'tqdm'
    ],
    extras_require={'tests': ['pytest', 'pytest-xdist']},
    license='Apache License 2.0',
    zip_safe=False,
)
