"""The NAS-Bench-Graph search space: 9 link patterns x 4 op choices, and which configurations are one architecture.

An architecture (the package's ``architecture.py``) has 4 computing nodes. Node ``i`` (1..4) applies op ``ops[i-1]``
to node ``link[i-1]`` (0 = the input, ``j`` = node ``j``); every leaf (a node no other node reads) feeds the output.
:data:`LINKS` are the package's 9 link patterns (its ``link_list``); the ops are its ``gnn_list`` (9 ops, 8 datasets)
or ``gnn_list_proteins`` (5 ops, ``proteins``). So a configuration is (link pattern, op1..op4): 9 x 9**4 = 59,049
configurations (9 x 5**4 = 5,625 on proteins).

**Which configurations are the same architecture** (:func:`canonical`): ``skip`` is the identity, so a skip node is
contracted into its input; what remains is a rooted tree (root = the input) whose nodes carry their op and the
number of output connections that read them (itself if it is a leaf, plus every skip leaf chained onto it). Two
configurations are the same architecture iff these trees are equal as unordered trees, with the input's own
output connections (skip chains from the input straight to the output) not counted. This is exactly the
partition the package's ``Arch.valid_hash`` makes: checked over all 59,049 (and 5,625) configurations in
``tests/test_graph.py`` against the installed package. It yields the package's 26,206 architectures (2,021 on
proteins), one record each in its ``light/*.bench`` files. The 9 all-``skip`` configurations compute nothing but
the input: they have no record and are **invalid**.

**Cell keys** (:func:`key_of`): the package's own hash of an architecture's canonical representative
(``Arch.hash_arch()``: link-pattern index, then the 4 ops as indices into the 9-op ``gnn_list``, one decimal
digit each; proteins ops use the same 9-op indices, which is how its file is keyed), as 5 ASCII digits
(``b"81118"``), so that sorting the bytes sorts the hashes. Which member of a class the package uses as
representative is its own rule; :func:`build_space` takes the representatives from the record keys of a bench file
and checks that every class holds exactly one of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import product

import numpy as np

__all__ = [
    "KEY_DTYPE",
    "LINKS",
    "N_NODES",
    "OPS",
    "OPS_PROTEINS",
    "Canonical",
    "build_space",
    "canonical",
    "config_of_key",
    "grid_configs",
    "key_of",
    "op_counts",
]

N_NODES = 4
#: The package's ``link_list``: the input node of each computing node (0 = the graph input).
LINKS: tuple[tuple[int, int, int, int], ...] = (
    (0, 0, 0, 0), (0, 0, 0, 1), (0, 0, 1, 1), (0, 0, 1, 2), (0, 0, 1, 3),
    (0, 1, 1, 1), (0, 1, 1, 2), (0, 1, 2, 2), (0, 1, 2, 3),
)
#: The package's ``gnn_list`` (cora, citeseer, pubmed, cs, physics, photo, computers, arxiv).
OPS: tuple[str, ...] = ("gat", "gcn", "gin", "cheb", "sage", "arma", "graph", "fc", "skip")
#: The package's ``gnn_list_proteins`` (proteins).
OPS_PROTEINS: tuple[str, ...] = ("gcn", "sage", "arma", "fc", "skip")
KEY_DTYPE = "S5"

Canonical = tuple  # (op, output connections, sorted child forms), nested


def canonical(link: Sequence[int], ops: Sequence[str]) -> Canonical:
    """The canonical form of configuration (``link``, ``ops``): equal forms = the same architecture (module doc)."""
    children: list[list[int]] = [[] for _ in range(N_NODES + 1)]
    for i, parent in enumerate(link):
        children[parent].append(i + 1)

    def form(node: int) -> Canonical:
        kids: list[int] = []
        taps = 1 if node and not children[node] else 0
        stack = list(children[node])
        while stack:  # contract skip nodes into this node
            child = stack.pop()
            if ops[child - 1] == "skip":
                if not children[child]:
                    taps += 1
                stack.extend(children[child])
            else:
                kids.append(child)
        return (ops[node - 1] if node else "input", taps if node else 0, tuple(sorted(form(k) for k in kids)))

    return form(0)


def key_of(link_index: int, ops: Sequence[str]) -> bytes:
    """The package's ``hash_arch`` of (``LINKS[link_index]``, ``ops``) as 5 ASCII digits."""
    return (str(link_index) + "".join(str(OPS.index(o)) for o in ops)).encode()


def config_of_key(key: int | bytes | str) -> tuple[int, tuple[str, ...]]:
    """(link-pattern index, ops) of a package hash (an int as in the bench files, or its 5-digit key)."""
    text = key.decode() if isinstance(key, bytes) else f"{key:05d}" if isinstance(key, int) else key
    if len(text) != 1 + N_NODES or not text.isdigit() or int(text[0]) >= len(LINKS) or "9" in text[1:]:
        raise ValueError(f"not a NAS-Bench-Graph architecture hash: {key!r}")
    return int(text[0]), tuple(OPS[int(c)] for c in text[1:])


def grid_configs(ops: Sequence[str]) -> Iterable[tuple[int, tuple[str, ...]]]:
    """Every configuration (link-pattern index, ops) in grid order: link major, then op1..op4 (op4 fastest)."""
    for li in range(len(LINKS)):
        for combo in product(ops, repeat=N_NODES):
            yield li, combo


def build_space(ops: Sequence[str], record_keys: Iterable[int]) -> tuple[np.ndarray, np.ndarray]:
    """(sorted cell keys, cell index of every grid configuration or -1) for op list ``ops``.

    ``record_keys`` are the integer keys of a bench file (the package's representatives). Raises ``ValueError``
    if a key is not a configuration of this op list, two keys are the same architecture, or a class with a
    non-trivial architecture has no key.
    """
    forms: dict[Canonical, bytes] = {}
    for k in record_keys:
        li, k_ops = config_of_key(int(k))
        if any(o not in ops for o in k_ops):
            raise ValueError(f"record {k} uses an op outside {list(ops)}")
        f = canonical(LINKS[li], k_ops)
        if f in forms:
            raise ValueError(f"records {forms[f].decode()} and {k:05d} are the same architecture")
        forms[f] = key_of(li, k_ops)
    keys = np.array(sorted(forms.values()), dtype=KEY_DTYPE)
    index = {k: i for i, k in enumerate(keys.tolist())}
    lookup = np.empty(len(LINKS) * len(ops) ** N_NODES, dtype=np.int32)
    trivial = canonical(LINKS[0], ("skip",) * N_NODES)
    for g, (li, combo) in enumerate(grid_configs(ops)):
        f = canonical(LINKS[li], combo)
        key = forms.get(f)
        if key is None:
            if f != trivial:
                raise ValueError(f"configuration {LINKS[li]} {combo} has no record")
            lookup[g] = -1
        else:
            lookup[g] = index[key]
    return keys, lookup


def op_counts(cell_ids: np.ndarray, space: str = "graph") -> tuple[tuple[str, ...], np.ndarray]:
    """Op names of ``space`` and the (N, n_ops) count of each op over the 4 computing nodes of every cell's
    representative (the digits 2..5 of its key; ``skip`` counts as an op)."""
    ops = OPS_PROTEINS if space == "graph-proteins" else OPS
    digits = np.frombuffer(np.ascontiguousarray(cell_ids, dtype=KEY_DTYPE).tobytes(), dtype=np.uint8).reshape(
        len(cell_ids), 1 + N_NODES)[:, 1:] - ord("0")
    return ops, np.stack([(digits == OPS.index(o)).sum(axis=1) for o in ops], axis=1)
