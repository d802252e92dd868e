import pytest

from ganforge.seeds import MAX_SEED, parse_seed_list


def test_ranges_and_order_are_kept():
    assert parse_seed_list("1,5,10-13") == [1, 5, 10, 11, 12, 13]
    assert parse_seed_list("3 2; 9-7") == [3, 2, 9, 8, 7]
    assert parse_seed_list("4,4") == [4, 4]


@pytest.mark.parametrize("text, fragment", [
    ("", "empty"), ("a", "'a'"), ("1-x", "'1-x'"), ("-3", "seed -3 is outside"),
    (str(MAX_SEED + 1), "outside"), ("0-5000", "more than"),
])
def test_bad_lists_say_what_is_wrong(text, fragment):
    with pytest.raises(ValueError, match=fragment):
        parse_seed_list(text)
