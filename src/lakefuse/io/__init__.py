"""Input: read tables, align their headers onto attributes, outer-union them."""

from lakefuse.io.align import align, header_key, load_columns_file
from lakefuse.io.read import RawTable, expand_inputs, from_dataframe, read_table
from lakefuse.io.union import outer_union

__all__ = [
    "RawTable",
    "align",
    "expand_inputs",
    "from_dataframe",
    "header_key",
    "load_columns_file",
    "outer_union",
    "read_table",
]
