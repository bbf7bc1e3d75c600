"""The directory file is validated before anything reaches the engine."""
import pytest

from admin_data.directory import DirectoryError, load_directory

HEADER = "units:\n  - {id: countyleaders, name: 县领导, kind: leadership, demo_user: countyleaders01}\n"


def load(tmp_path, text):
    path = tmp_path / "directory.yaml"
    path.write_text(text, "utf-8")
    return load_directory(path)


def test_shipped_directory_is_valid():
    directory = load_directory()
    assert len(directory.units) == len({unit.id for unit in directory.units})


@pytest.mark.parametrize("row, expected", [
    ("  - {id: feng-cheng, name: 凤城街道, kind: subdistrict, demo_user: fc01}",
     "units[1]（凤城街道）.id: 只能使用英文字母和数字"),
    ("  - {id: fengcheng, name: 凤城街道, kind: village, demo_user: fc01}",
     "units[1]（凤城街道）.kind: 未知的单位类型"),
    ("  - {id: fengcheng, kind: subdistrict, demo_user: fc01}",
     "units[1]（fengcheng）.name: 缺少必填项"),
    ("  - {id: countyleaders, name: 凤城街道, kind: subdistrict, demo_user: fc01}",
     "units[1]（凤城街道）.id: 'countyleaders' 与 units[0].id 重复"),
])
def test_bad_unit_rows_are_named(tmp_path, row, expected):
    with pytest.raises(DirectoryError) as refused:
        load(tmp_path, HEADER + row + "\n")
    assert expected in str(refused.value)


def test_leader_in_charge_of_unknown_unit_is_named(tmp_path):
    text = HEADER + "leaders:\n  - {id: l1, name: 县长, body: 县政府, in_charge_of: [nowhere]}\n"
    with pytest.raises(DirectoryError) as refused:
        load(tmp_path, text)
    assert "leaders[0]（县长）.in_charge_of: 目录中没有单位: nowhere" in str(refused.value)


def test_broken_yaml_is_reported(tmp_path):
    with pytest.raises(DirectoryError) as refused:
        load(tmp_path, "units: [\n")
    assert "不是有效的 YAML" in str(refused.value)
