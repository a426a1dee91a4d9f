"""Tests for label specs derived from class directories and CSV headers."""

import pytest

from components import features


def test_class_dir_spec_two_classes_scores_second_sorted():
    spec = features.class_dir_spec(["pentagram", "no_pentagram"])

    assert spec.kind == features.BINARY
    assert spec.classes == ("no_pentagram", "pentagram")
    assert spec.positive_class == "pentagram"
    assert spec.labels == ("pentagram",)
    assert spec.label_features == (features.LABEL_KEY,)


def test_class_dir_spec_positive_class_puts_it_last():
    spec = features.class_dir_spec(
        ["hotdog", "not_hotdog"], positive_class="hotdog"
    )

    assert spec.classes == ("not_hotdog", "hotdog")
    assert spec.labels == ("hotdog",)


def test_class_dir_spec_three_classes_is_multiclass():
    spec = features.class_dir_spec(["star", "Logo Big", "pentagram"])

    assert spec.kind == features.MULTICLASS
    assert spec.classes == ("Logo Big", "pentagram", "star")
    assert spec.labels == ("logo_big", "pentagram", "star")
    assert spec.output_names == ("classes",)


def test_class_dir_spec_single_class_is_refused():
    with pytest.raises(ValueError, match=r"at least two class.*\['only'\]"):
        features.class_dir_spec(["only"])


def test_class_dir_spec_unknown_positive_class_is_refused():
    with pytest.raises(ValueError, match="'cat' is not one of the classes"):
        features.class_dir_spec(["a", "b"], positive_class="cat")


def test_csv_spec_strips_visible_suffix():
    spec = features.csv_spec(
        ["filename", "pentagram_visible", "Stop Sign_visible", "notes"]
    )

    assert spec.kind == features.MULTILABEL
    assert spec.labels == ("pentagram", "stop_sign")
    assert spec.label_features == ("pentagram_visible", "stop_sign_visible")


def test_csv_spec_without_label_columns_lists_headers():
    with pytest.raises(ValueError, match=r"found columns \['filename', 'x'\]"):
        features.csv_spec(["filename", "x"])


def test_csv_spec_without_filename_column_lists_headers():
    with pytest.raises(ValueError, match=r"'filename' column.*\['file'"):
        features.csv_spec(["file", "star_visible"])


def test_csv_spec_colliding_names_are_refused():
    with pytest.raises(ValueError, match="unique"):
        features.csv_spec(["filename", "a b_visible", "a-b_visible"])


def test_label_spec_json_round_trip():
    spec = features.class_dir_spec(["a", "b", "c"])

    assert features.LabelSpec.from_json(spec.to_json()) == spec
