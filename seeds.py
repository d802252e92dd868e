"""Seed lists: the one parser behind every "1,5,10-20" field in the pack."""

from __future__ import annotations

MAX_SEED = 2**32 - 1  # numpy's RandomState, which NVlabs uses for z, takes seeds below 2**32
MAX_SEEDS = 4096


def parse_seed_list(text: str, max_count: int = MAX_SEEDS) -> list[int]:
    """Parse a seed list such as ``"1,5,10-20"`` into ``[1, 5, 10, 11, ..., 20]``.

    Items are separated by commas, spaces or semicolons; ``a-b`` is an inclusive range
    (ascending or descending). Order and repeats are kept, because a seed list also orders
    the items of a batch. Raises ``ValueError`` with the offending item on bad input.
    """
    seeds: list[int] = []
    for item in text.replace(";", ",").replace(" ", ",").split(","):
        item = item.strip()
        if not item:
            continue
        if "-" in item[1:]:  # a range; a leading '-' is a negative seed, refused below
            first, _, last = item.partition("-")
            lo, hi = _parse_seed(first, item), _parse_seed(last, item)
            step = 1 if hi >= lo else -1
            count = abs(hi - lo) + 1
            if len(seeds) + count > max_count:
                raise ValueError(f"the seed list has more than {max_count} seeds (at '{item}')")
            seeds.extend(range(lo, hi + step, step))
        else:
            seeds.append(_parse_seed(item, item))
        if len(seeds) > max_count:
            raise ValueError(f"the seed list has more than {max_count} seeds")
    if not seeds:
        raise ValueError("the seed list is empty: write seeds such as '1,5,10-20'")
    return seeds


def _parse_seed(text: str, item: str) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise ValueError(f"'{item}' is not a seed or a range of seeds (write e.g. 7 or 10-20)") from None
    if not 0 <= value <= MAX_SEED:
        raise ValueError(f"seed {value} is outside 0..{MAX_SEED}")
    return value
