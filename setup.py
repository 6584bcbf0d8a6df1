"""Packages for setuptools: one installed name, ``edgeprof``.

The repository keeps ``devices/``, ``exporters/`` and ``assets/`` at its top (the project's layout);
the wheel carries them as ``edgeprof.devices``, ``edgeprof.exporters`` and ``edgeprof.assets``, so
nothing but ``edgeprof`` lands in site-packages (PyPI already has an ``exporters``). Subpackages are
discovered, never listed by hand. Everything else is in pyproject.toml.
"""
from setuptools import find_packages, setup

#: installed package -> folder in the repository
ROOTS = {"edgeprof": "edgeprof", "edgeprof.devices": "devices", "edgeprof.exporters": "exporters",
         "edgeprof.assets": "assets"}

packages, package_dir = [], {}
for name, folder in ROOTS.items():
    package_dir[name] = folder
    packages += [name] + [f"{name}.{sub}" for sub in find_packages(folder)]

setup(packages=packages, package_dir=package_dir)
