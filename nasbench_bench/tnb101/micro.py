"""The ``tnb101-micro`` family: TransNAS-Bench-101's 4,096 micro cells on 7 Taskonomy tasks (see the package)."""

from nasbench_bench.tnb101 import family

FAMILY = family("micro")
