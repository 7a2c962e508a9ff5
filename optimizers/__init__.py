"""Built-in optimizers of nasbench_bench, one short module each (see ``nasbench_bench.optimizer``)."""
