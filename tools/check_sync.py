"""Fail when exporting the notebooks or cleaning them would change any file (CI's sync check)."""
import subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def status() -> str:
    return subprocess.run(['git', 'status', '--porcelain', '--untracked-files=all'], cwd=ROOT,
                          capture_output=True, text=True, check=True).stdout


def main() -> int:
    before = status()
    subprocess.run([sys.executable, str(ROOT / 'tools' / 'export.py')], cwd=ROOT, check=True)
    subprocess.run([str(Path(sys.executable).parent / 'nbdev_clean')], cwd=ROOT, check=True)
    after = status()
    if before != after:
        changed = sorted(set(after.splitlines()) - set(before.splitlines()))
        print('notebooks, library and tests are out of step; export/clean changed:', *changed, sep='\n  ')
        print('edit the notebook, run `python tools/export.py && nbdev_clean`, and commit the result')
        return 1
    print('sync check: notebooks, library and tests are in step')
    return 0


if __name__ == '__main__':
    sys.exit(main())
