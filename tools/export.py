"""Export the library (nbs/NN_*.ipynb -> mimpaper/) and the test notebooks (nbs/tests/*.ipynb -> tests/).

`nbdev_export` writes only to `lib_path`, so the test notebooks are exported here with
`nb_export(..., lib_path='tests')`. Run `python tools/export.py` after editing a notebook;
CI runs it and fails when it changes any file.
"""
from pathlib import Path
import sys

from nbdev.doclinks import nbdev_export
from nbdev.export import nb_export

ROOT = Path(__file__).resolve().parents[1]


def export_all(only: str | None = None) -> None:
    "Export library notebooks with nbdev, then each test notebook into `tests/`."
    nbdev_export()
    for nb in sorted((ROOT / 'nbs' / 'tests').glob('*.ipynb')):
        if only and only not in nb.name: continue
        nb_export(nb, lib_path=str(ROOT / 'tests'))


if __name__ == '__main__':
    only = sys.argv[1] if len(sys.argv) > 1 else None
    sys.argv = sys.argv[:1]          # nbdev_export is a fastcore script: it would parse our argument as its own
    export_all(only)
