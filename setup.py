"""Installs the pipeline and component packages."""

from setuptools import find_packages, setup

setup(
    name="symbol-visibility-pipeline",
    version="0.1.0",
    description="TFX pipeline that trains symbol-visibility image models.",
    python_requires=">=3.10,<3.11",
    packages=find_packages(include=["components*", "pipeline*", "kubeflow*"]),
    install_requires=[
        "tfx[kfp]==1.16.0",
        "dill",
        "click",
        "pillow",
        "scikit-learn",
    ],
    extras_require={"dev": ["pytest", "ruff", "psutil"]},
)
