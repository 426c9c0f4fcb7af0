import pytest

from adaem.errors import ConfigError
from adaem.theories import load_theory


def test_schwartz_ten_with_groups_and_opposites():
    t = load_theory("schwartz10")
    assert len(t.ids) == 10 and t.ids[0] == "self_direction"
    assert set(t.same_group("power")) == {"achievement", "hedonism"}
    assert set(t.opposite("power")) == {"benevolence", "universalism"}
    assert set(t.opposite("tradition")) == {"self_direction", "stimulation", "hedonism"}
    assert t.groups_of("hedonism") == ["openness_to_change", "self_enhancement"]


def test_moral_foundations():
    t = load_theory("mft")
    assert t.ids == ["care", "fairness", "loyalty", "authority", "sanctity", "liberty"]
    assert t.opposite("care") == []  # MFT has groups but no opposites


def test_user_theory_from_file(tmp_path):
    f = tmp_path / "t.json"
    f.write_text('{"name": "two", "dimensions": [{"id": "a", "name": "A", "definition": "x"},'
                 ' {"id": "b", "name": "B", "definition": "y"}], "groups": {"g": ["a"]}}')
    assert load_theory(f).ids == ["a", "b"]


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("name: x\ndimensions: [{id: a, name: A, definition: d}, {id: a, name: B, definition: e}]\n", "duplicate"),
        ("name: x\ndimensions: [{id: a, name: A, definition: d}, {id: b, name: B, definition: e}]\n"
         "groups: {g: [a, zz]}\n", "unknown dimensions ['zz']"),
        ("name: x\ndimensions: [{id: a, name: A, definition: d}]\n", "dimensions"),
        ("name: x\ndimensions: [{id: a, name: A}, {id: b, name: B, definition: e}]\n", "definition"),
    ],
)
def test_bad_theories_name_the_problem(tmp_path, content, fragment):
    f = tmp_path / "t.yaml"
    f.write_text(content)
    with pytest.raises(ConfigError, match="bad theory") as info:
        load_theory(f)
    assert fragment in str(info.value)


def test_unknown_theory_and_dimension():
    with pytest.raises(ConfigError, match="unknown theory 'hofstede'"):
        load_theory("hofstede")
    with pytest.raises(ConfigError, match="no dimension 'greed'"):
        load_theory("schwartz10").dimension("greed")
