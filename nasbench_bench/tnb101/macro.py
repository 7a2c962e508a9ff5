"""The ``tnb101-macro`` family: TransNAS-Bench-101's 3,256 macro networks on 7 Taskonomy tasks (see the package)."""

from nasbench_bench.tnb101 import family

FAMILY = family("macro")
