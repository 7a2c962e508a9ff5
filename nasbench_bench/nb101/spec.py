"""NAS-Bench-101 cell specifications: pruning, validity and the official module hash.

A cell is a DAG of at most 7 vertices and 9 edges (upper-triangular 0/1 adjacency matrix); vertex 0 is
``input``, the last ``output``, the others one of ``conv3x3-bn-relu``, ``conv1x1-bn-relu``, ``maxpool3x3``
(labels 0, 1, 2). Pruning removes every vertex not on an input->output path; the spec is out of domain when
input cannot reach output, or when the pruned spec has more than 7 vertices or 9 edges, a wrong first/last op
or an unknown op. The module hash (:func:`hash_module`) is the official fingerprint: per vertex the md5 of the
text ``(out_degree, in_degree, label)`` (input -1, output -2), then V rounds replacing each vertex's hash by the
md5 of its sorted in-neighbour hashes, ``|``, its sorted out-neighbour hashes, ``|``, its own hash; finally the
md5 of the text of the sorted list of hashes. Isomorphic specs get the same hash; the 423,624 cells of the space
get distinct ones.

Semantics follow the official ``nasbench.api.ModelSpec`` exactly: structural problems (not square, not
upper-triangular, ops/matrix size mismatch) raise :class:`InvalidSpecError` at construction, like the official
``ValueError``; domain problems make the spec out of domain: :meth:`ModelSpec.check` raises
:class:`OutOfDomainError` and :func:`is_valid` is False.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

INPUT = "input"
OUTPUT = "output"
CONV3X3 = "conv3x3-bn-relu"
CONV1X1 = "conv1x1-bn-relu"
MAXPOOL3X3 = "maxpool3x3"
#: The middle-vertex operations in label order (label 0, 1, 2), as the official API's ``available_ops``.
OPS: tuple[str, ...] = (CONV3X3, CONV1X1, MAXPOOL3X3)
MAX_VERTICES = 7
MAX_EDGES = 9


class OutOfDomainError(ValueError):
    """A spec or query outside the benchmark's domain (the official API's error of the same name)."""


class InvalidSpecError(ValueError):
    """A matrix/ops pair that is not a well-formed spec at all (the official API raises ValueError)."""


def _as_matrix(matrix: object) -> np.ndarray:
    try:
        m = np.asarray(matrix)
    except Exception as exc:  # pragma: no cover - numpy accepts almost anything
        raise InvalidSpecError(f"matrix is not array-like: {exc}") from exc
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise InvalidSpecError(f"matrix must be square, got shape {m.shape}")
    if m.size and not np.all((m == 0) | (m == 1)):
        raise InvalidSpecError("matrix entries must be 0 or 1")
    m = m.astype(np.int8)
    if np.any(np.tril(m) != 0):
        raise InvalidSpecError("matrix must be upper triangular (a DAG in topological order)")
    return m


def prune(matrix: np.ndarray, ops: Sequence[str]) -> tuple[np.ndarray, list[str]] | None:
    """Remove vertices not on an input->output path; ``None`` when input cannot reach output."""
    n = matrix.shape[0]
    if n == 0:
        return None
    fwd = {0}
    stack = [0]
    while stack:
        u = stack.pop()
        for v in range(u + 1, n):
            if matrix[u, v] and v not in fwd:
                fwd.add(v)
                stack.append(v)
    bwd = {n - 1}
    stack = [n - 1]
    while stack:
        v = stack.pop()
        for u in range(v):
            if matrix[u, v] and u not in bwd:
                bwd.add(u)
                stack.append(u)
    extraneous = sorted(set(range(n)) - (fwd & bwd))
    if len(extraneous) > n - 2:
        return None
    keep = [i for i in range(n) if i not in set(extraneous)]
    return matrix[np.ix_(keep, keep)].copy(), [ops[i] for i in keep]


_INIT_HASH: dict[tuple[int, int, int], str] = {}


def hash_dag(preds: Sequence[Sequence[int]], succs: Sequence[Sequence[int]], labels: Sequence[int]) -> str:
    """The official fingerprint of a labelled DAG given as neighbour lists (see :func:`hash_module`)."""
    md5 = hashlib.md5
    h = []
    for p, s, lab in zip(preds, succs, labels):
        key = (len(s), len(p), int(lab))  # (out-degree, in-degree, label), as the official text
        x = _INIT_HASH.get(key)
        if x is None:
            x = _INIT_HASH[key] = md5(str(key).encode("utf-8")).hexdigest()
        h.append(x)
    for _ in range(len(labels)):
        h = [
            md5(("".join(sorted([h[u] for u in p])) + "|" + "".join(sorted([h[w] for w in s])) + "|" + hv).encode())
            .hexdigest()
            for p, s, hv in zip(preds, succs, h)
        ]
    return md5(str(sorted(h)).encode("utf-8")).hexdigest()


def hash_module(matrix: np.ndarray, labeling: Sequence[int]) -> str:
    """The official Weisfeiler-Lehman-style md5 fingerprint of a labelled DAG (32 hex chars).

    Per vertex, md5 of ``(out_degree, in_degree, label)``; then V rounds of md5 over the sorted in-neighbour
    hashes, ``|``, the sorted out-neighbour hashes, ``|``, the own hash; finally md5 of ``str(sorted(hashes))``.
    """
    n = matrix.shape[0]
    preds = [[u for u in range(n) if matrix[u, v]] for v in range(n)]
    succs = [[w for w in range(n) if matrix[v, w]] for v in range(n)]
    return hash_dag(preds, succs, labeling)


class ModelSpec:
    """A cell: adjacency matrix plus one op per vertex, pruned like the official ``ModelSpec``.

    ``original_matrix``/``original_ops`` keep the input; ``matrix``/``ops`` are the pruned spec (``None``
    when input and output are disconnected, in which case ``valid_spec`` is False).
    """

    __slots__ = ("original_matrix", "original_ops", "matrix", "ops", "valid_spec", "data_format")

    def __init__(self, matrix: object, ops: Sequence[str], data_format: str = "channels_last") -> None:
        m = _as_matrix(matrix)
        ops = list(ops)
        if len(ops) != m.shape[0]:
            raise InvalidSpecError(f"length of ops ({len(ops)}) must match matrix dimensions ({m.shape[0]})")
        if not all(isinstance(op, str) for op in ops):
            raise InvalidSpecError("ops must be strings")
        self.original_matrix = m.copy()
        self.original_ops = list(ops)
        self.data_format = data_format
        pruned = prune(m, ops)
        if pruned is None:
            self.matrix, self.ops, self.valid_spec = None, None, False
        else:
            self.matrix, self.ops = pruned
            self.valid_spec = True

    def problem(self) -> str | None:
        """Why the spec is out of domain (message as the official API's), or ``None`` if it is valid."""
        if not self.valid_spec:
            return "invalid spec, provided graph is disconnected."
        assert self.matrix is not None and self.ops is not None
        n, e = len(self.ops), int(self.matrix.sum())
        if n > MAX_VERTICES:
            return f"too many vertices, got {n} (max vertices = {MAX_VERTICES})"
        if e > MAX_EDGES:
            return f"too many edges, got {e} (max edges = {MAX_EDGES})"
        if self.ops[0] != INPUT:
            return f"first operation should be 'input', got {self.ops[0]!r}"
        if self.ops[-1] != OUTPUT:
            return f"last operation should be 'output', got {self.ops[-1]!r}"
        for op in self.ops[1:-1]:
            if op not in OPS:
                return f"unsupported op {op!r} (available ops = {list(OPS)})"
        return None

    def check(self) -> None:
        """Raise :class:`OutOfDomainError` naming the problem if the spec is out of domain."""
        msg = self.problem()
        if msg is not None:
            raise OutOfDomainError(msg)

    def is_valid(self) -> bool:
        return self.problem() is None

    def labeling(self, canonical_ops: Sequence[str] = OPS) -> list[int]:
        """Vertex labels used by the hash: input -1, output -2, middle ops their index."""
        assert self.ops is not None
        return [-1] + [list(canonical_ops).index(op) for op in self.ops[1:-1]] + [-2]

    def hash_spec(self, canonical_ops: Sequence[str] = OPS) -> str:
        """The official 32-hex module hash of the pruned spec; raises if the spec is out of domain."""
        self.check()
        assert self.matrix is not None
        return hash_module(self.matrix, self.labeling(canonical_ops))

    def __repr__(self) -> str:
        return f"ModelSpec(matrix={self.original_matrix.tolist()}, ops={self.original_ops})"


def is_valid(spec: ModelSpec) -> bool:
    """True if ``spec`` is inside the NAS-Bench-101 domain; never raises."""
    return spec.is_valid()
