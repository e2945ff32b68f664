"""Build glue: the gateway packages plus the shipped defaults mapped in pyproject.toml."""

from setuptools import find_packages, setup

# pyproject.toml cannot both find packages and add the ones its package-dir maps from
# top-level folders (rules/ → gateway._defaults.rules), so the list is made here.
SHIPPED = ["gateway._defaults.rules", "gateway._defaults.templates"]

setup(packages=find_packages(include=["gateway*"]) + SHIPPED)
