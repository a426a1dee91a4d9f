"""Tiny generated frames and specs compiled from them, shared by the tests."""

import pytest
from kubeflow_testlib import class_dir_settings, compile_to, csv_settings

from pipeline import sample_data


@pytest.fixture(scope="session")
def data_root(tmp_path_factory):
    """Both layouts: class directories and a labels CSV, 24 frames each."""
    root = tmp_path_factory.mktemp("frames")
    sample_data.write_class_dirs(root / "class_dirs", count=24)
    sample_data.write_labels_csv(root / "labels_csv", count=24)
    return root


@pytest.fixture(scope="session")
def specs(data_root, tmp_path_factory):
    """Layout name -> compiled spec path, for both layouts."""
    out = tmp_path_factory.mktemp("specs")
    return {
        "class_dirs": compile_to(
            class_dir_settings(data_root), out / "classes.yaml"
        ),
        "labels_csv": compile_to(csv_settings(data_root), out / "labels.yaml"),
    }
