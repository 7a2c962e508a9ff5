import sys

from nasbench_bench.cli import main

sys.exit(main())
