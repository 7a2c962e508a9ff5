"""Data layer: conversion, cache load and query speed vs a re-implementation of the official API.

On a SYNTHETIC official-format file (written first, or reused): times ``convert``, the cache load (and its
resident-memory delta), query throughput of :class:`nasbench_bench.nb101.api.NASBench` on fresh specs (each
spec hashed once) and on repeated specs, then the same for a straightforward re-implementation of the
official loading/query algorithm (JSON + dicts per record, ``copy.deepcopy`` per query) in this process.
"""

from __future__ import annotations

import argparse
import base64
import copy
import gc
import json
import os
import random
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

TARGET_LOAD_SPEEDUP = 100.0
TARGET_QUERY_SPEEDUP = 10.0
TARGET_RSS_FULL_MB = 1024.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from nasbench_bench.cli.data import _cells_arg

    parser.add_argument("--cells", type=_cells_arg, default=5000, help="random cells, or 'all' (default 5000)")
    parser.add_argument("--variant", choices=("full", "only108"), default="full")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", default="/tmp/nasbench_bench_bench_data", help="where files are written")
    parser.add_argument("--queries", type=int, default=20000, help="queries per throughput measurement")
    parser.add_argument("--reuse", action="store_true", help="reuse an existing synthetic file in workdir")
    parser.add_argument("--no-official", action="store_true", help="skip the official re-implementation")
    parser.add_argument("--keep", action="store_true", help="keep the files afterwards")


def _rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


class OfficialReimplementation:
    """The official ``nasbench.api.NASBench`` load and query algorithm (without TensorFlow)."""

    def __init__(self, dataset_file: str | os.PathLike[str], seed: int | None = None) -> None:
        from nasbench_bench.nb101.records import ModelMetrics
        from nasbench_bench.nb101.tfrecord import iter_records

        self.rnd = random.Random(seed)
        self.fixed_statistics: dict[str, dict[str, Any]] = {}
        self.computed_statistics: dict[str, dict[int, list[dict[str, float]]]] = {}
        self.valid_epochs: set[int] = set()
        for serialized_row in iter_records(dataset_file):
            module_hash, epochs, raw_adjacency, raw_operations, raw_metrics = json.loads(
                serialized_row.decode("utf-8"))
            dim = int(np.sqrt(len(raw_adjacency)))
            adjacency = np.array([int(e) for e in list(raw_adjacency)], dtype=np.int8)
            adjacency = np.reshape(adjacency, (dim, dim))
            operations = raw_operations.split(",")
            metrics = ModelMetrics.FromString(base64.b64decode(raw_metrics))
            if module_hash not in self.fixed_statistics:
                self.fixed_statistics[module_hash] = {
                    "module_adjacency": adjacency,
                    "module_operations": operations,
                    "trainable_parameters": metrics.trainable_parameters,
                }
                self.computed_statistics[module_hash] = {}
            self.valid_epochs.add(epochs)
            if epochs not in self.computed_statistics[module_hash]:
                self.computed_statistics[module_hash][epochs] = []
            half, final = metrics.evaluation_data[1], metrics.evaluation_data[2]
            self.computed_statistics[module_hash][epochs].append({
                "halfway_training_time": half.training_time,
                "halfway_train_accuracy": half.train_accuracy,
                "halfway_validation_accuracy": half.validation_accuracy,
                "halfway_test_accuracy": half.test_accuracy,
                "final_training_time": final.training_time,
                "final_train_accuracy": final.train_accuracy,
                "final_validation_accuracy": final.validation_accuracy,
                "final_test_accuracy": final.test_accuracy,
            })
        self.training_time_spent = 0.0
        self.total_epochs_spent = 0

    def query(self, model_spec: Any, epochs: int = 108, stop_halfway: bool = False) -> dict[str, Any]:
        from nasbench_bench.nb101.spec import OutOfDomainError

        if epochs not in self.valid_epochs:
            raise OutOfDomainError(f"invalid number of epochs, must be one of {self.valid_epochs}")
        model_spec.check()
        module_hash = model_spec.hash_spec()
        fixed_stat = copy.deepcopy(self.fixed_statistics[module_hash])
        computed_stat = copy.deepcopy(self.computed_statistics[module_hash])
        sampled = computed_stat[epochs][self.rnd.randint(0, 2)]
        data = {
            "module_adjacency": fixed_stat["module_adjacency"],
            "module_operations": fixed_stat["module_operations"],
            "trainable_parameters": fixed_stat["trainable_parameters"],
        }
        prefix = "halfway_" if stop_halfway else "final_"
        data["training_time"] = sampled[prefix + "training_time"]
        data["train_accuracy"] = sampled[prefix + "train_accuracy"]
        data["validation_accuracy"] = sampled[prefix + "validation_accuracy"]
        data["test_accuracy"] = sampled[prefix + "test_accuracy"]
        self.training_time_spent += data["training_time"]
        self.total_epochs_spent += epochs // 2 if stop_halfway else epochs
        return data


def _specs(table: Any, n: int, seed: int) -> list[Any]:
    from nasbench_bench.nb101.spec import ModelSpec

    rng = np.random.default_rng(seed)
    rows = rng.integers(0, table.n_cells, size=n)
    return [ModelSpec(table.adjacency(int(r)), table.op_names(int(r))) for r in rows]


def _throughput(query: Any, specs: list[Any], epochs: int) -> float:
    t0 = time.perf_counter()
    for s in specs:
        query(s, epochs)
    return len(specs) / (time.perf_counter() - t0)


def _ratio(value: float, target: float) -> str:
    return f"{value:,.1f}x (target >= {target:g}x: {'OK' if value >= target else 'MISSED'})"


def run(args: argparse.Namespace) -> int:
    from nasbench_bench.nb101.api import NASBench
    from nasbench_bench.nb101.cache import convert, load_nb101
    from nasbench_bench.nb101.synth import write_synthetic_tfrecord

    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    src = work / f"synthetic_{args.variant}_{args.cells}_s{args.seed}.tfrecord"
    print(f"bench data: cells={args.cells} variant={args.variant} seed={args.seed} (SYNTHETIC data)")
    if not (args.reuse and src.is_file()):
        t0 = time.perf_counter()
        n = write_synthetic_tfrecord(src, args.cells, args.variant, args.seed, progress=True)
        print(f"write synthetic file : {time.perf_counter() - t0:8.1f} s  ({n:,} records, "
              f"{src.stat().st_size / 2**30:.2f} GiB)")
    cache = work / (src.stem + ".cache")
    t0 = time.perf_counter()
    convert(src, cache, progress=True)
    t_convert = time.perf_counter() - t0
    print(f"convert (verify hashes): {t_convert:8.1f} s")

    gc.collect()
    rss0 = _rss_mb()
    t0 = time.perf_counter()
    table = load_nb101(cache)
    t_load = time.perf_counter() - t0
    rss_load = _rss_mb() - rss0
    print(f"cache load           : {t_load * 1000:8.1f} ms, RSS +{rss_load:,.0f} MB  ({table.describe()})")

    q = args.queries
    fresh = _specs(table, q, args.seed + 1)
    pool = fresh[: max(1, q // 20)]
    repeated = [pool[i % len(pool)] for i in range(q)]
    nb = NASBench(table, seed=args.seed)
    qps_fresh = _throughput(nb.query, fresh, 108)
    qps_rep = _throughput(nb.query, repeated, 108)
    print(f"query, fresh specs   : {qps_fresh:10,.0f} /s  ({1e6 / qps_fresh:6.1f} us; module hash per spec)")
    print(f"query, repeated specs: {qps_rep:10,.0f} /s  ({1e6 / qps_rep:6.1f} us; memoised spec -> row)")
    qps_space = None
    try:
        from nasbench_bench.nb101.space import SearchSpace

        if table.n_cells > 100_000 or args.cells == "all":
            space = SearchSpace.load()
            nb_s = NASBench(table, seed=args.seed, space=space)
            nb_s.query(fresh[0])  # builds the space-row map once
            qps_space = _throughput(nb_s.query, fresh[1:], 108)
            print(f"query, fresh + space : {qps_space:10,.0f} /s  ({1e6 / qps_space:6.1f} us; space lookup)")
    except ImportError:
        pass

    if not args.no_official:
        del nb
        gc.collect()
        rss0 = _rss_mb()
        t0 = time.perf_counter()
        official = OfficialReimplementation(src, seed=args.seed)
        t_off = time.perf_counter() - t0
        rss_off = _rss_mb() - rss0
        print(f"official-style load  : {t_off:8.1f} s, RSS +{rss_off:,.0f} MB")
        off_q = official.query
        qps_off = _throughput(off_q, repeated, 108)
        print(f"official-style query : {qps_off:10,.0f} /s  ({1e6 / qps_off:6.1f} us)")
        print("ratios:")
        print(f"  cache load vs official load : {_ratio(t_off / t_load, TARGET_LOAD_SPEEDUP)}")
        print(f"  query, repeated specs       : {_ratio(qps_rep / qps_off, TARGET_QUERY_SPEEDUP)}")
        print(f"  query, fresh specs          : {_ratio(qps_fresh / qps_off, TARGET_QUERY_SPEEDUP)}")
        if qps_space:
            print(f"  query, fresh + space lookup : {_ratio(qps_space / qps_off, TARGET_QUERY_SPEEDUP)}")
    full_size = args.cells == "all" and args.variant == "full"
    verdict = ("OK" if rss_load <= TARGET_RSS_FULL_MB else "MISSED") if full_size else "n/a (not full size)"
    print(f"  cache RSS {rss_load:,.0f} MB (full table target <= {TARGET_RSS_FULL_MB:g} MB: {verdict})")
    if not args.keep:
        shutil.rmtree(cache, ignore_errors=True)
        src.unlink(missing_ok=True)
    return 0
