"""Data-format converters, validation helpers and estimator discovery."""

from ._blocks import iter_group_blocks, iter_parquet_group_blocks
from ._convert import comparisons_to_long, pairs_to_long
from ._discovery import all_estimators
from ._groups import PackedGroups, check_groups, pack_groups

__all__ = [
    "PackedGroups",
    "all_estimators",
    "check_groups",
    "comparisons_to_long",
    "iter_group_blocks",
    "iter_parquet_group_blocks",
    "pack_groups",
    "pairs_to_long",
]
