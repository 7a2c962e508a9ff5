"""Small structured tables for fast tests (over the 15,625 NAS-Bench-201 cell ids; values are SYNTHETIC).

The generator lives in :mod:`nasbench_bench.nb201.toy` (benchmark ``"toy"``); re-exported here.
"""

from __future__ import annotations

from nasbench_bench.nb201.toy import toy_table

__all__ = ["toy_table"]
