"""Fail when the notebooks, the library and the tests are out of step (CI's sync check).

The check never writes to the working tree. It copies the tree (tracked and untracked, not ignored files) into a
temporary folder, deletes every generated file there (`<lib_path>/*.py` but `__init__.py`, and `tests/*.py`), runs
`tools/export.py` and `nbdev_clean` in the copy, and compares the result with the files on disk byte for byte:

- a generated file that differs from what its notebook exports, or a notebook that `nbdev_clean` would change: fail;
- a `<lib_path>/*.py` or `tests/*.py` that no notebook exports (an orphan, e.g. a hand-written `tests/test_orphan.py`): fail;
- a generated file that differs *and* has uncommitted edits: refuse (exit 2). Running the export would silently overwrite
  that edit; the message says how to keep it (move it into the notebook) or drop it.
"""
import configparser, filecmp, os, shutil, subprocess, sys, tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SKIP_DIRS = {'__pycache__', '.ipynb_checkpoints'}
COPY_SKIP = ('results/', 'runs/')          # large, and no export reads them


def git(root: Path, *args: str) -> str:
    return subprocess.run(['git', *args], cwd=root, capture_output=True, text=True, check=True).stdout


def tree_files(root: Path) -> list[str]:
    "Files of the working tree that git would see: tracked (and present) plus untracked, not ignored."
    out = git(root, 'ls-files', '-z', '--cached', '--others', '--exclude-standard').split('\0')
    return sorted({f for f in out if f and not f.startswith(COPY_SKIP) and (root / f).is_file()})


def lib_path(root: Path) -> str:
    cfg = configparser.ConfigParser(); cfg.read(root / 'settings.ini')
    return cfg['DEFAULT'].get('lib_path', cfg['DEFAULT'].get('lib_name'))


def is_generated(f: str, lib: str) -> bool:
    "Paths the export writes: every `<lib>/*.py` but `__init__.py`, every `tests/*.py`."
    p = Path(f)
    if p.suffix != '.py' or len(p.parts) != 2: return False
    return (p.parts[0] == lib and p.name != '__init__.py') or p.parts[0] == 'tests'


def dirty(root: Path) -> set[str]:
    "Paths with uncommitted changes (staged, unstaged or untracked)."
    out = git(root, 'status', '--porcelain', '-z', '--untracked-files=all').split('\0')
    paths, it = set(), iter(out)
    for entry in it:
        if not entry: continue
        paths.add(entry[3:])
        if entry[0] in 'RC': next(it, None)           # a rename's second field is its source
    return paths


def export_copy(root: Path, dest: Path) -> None:
    "Copy the tree into `dest`, delete the generated files there, then export and clean the copy."
    lib = lib_path(root)
    for f in tree_files(root):
        if is_generated(f, lib): continue
        (dest / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / f, dest / f)
    for d in (lib, 'tests'): (dest / d).mkdir(exist_ok=True)
    env = {**os.environ, 'PYTHONDONTWRITEBYTECODE': '1'}
    export = dest / 'tools' / 'export.py'
    if not export.exists(): export.parent.mkdir(exist_ok=True); shutil.copy2(ROOT / 'tools' / 'export.py', export)
    for cmd in ([sys.executable, str(export)], [str(Path(sys.executable).parent / 'nbdev_clean')]):
        r = subprocess.run(cmd, cwd=dest, capture_output=True, text=True, env=env)
        if r.returncode: raise RuntimeError(f'{Path(cmd[-1]).name} failed in the export copy:\n{r.stdout}{r.stderr}')


def walk(root: Path, dirs=('nbs', 'tests')) -> set[str]:
    out = set()
    for d in dirs:
        for p in (root / d).rglob('*'):
            if p.is_file() and not SKIP_DIRS & set(p.relative_to(root).parts): out.add(p.relative_to(root).as_posix())
    return out


def compare(root: Path, dest: Path) -> dict[str, list[str]]:
    """`changed`: files export/clean would rewrite; `new`: files it would create; `orphans`: generated-looking
    files that no notebook exports."""
    lib = lib_path(root)
    have = {f for f in tree_files(root) if f.split('/')[0] in ('nbs', 'tests', lib)}
    made = walk(dest, ('nbs', 'tests', lib))
    changed = sorted(f for f in have & made if not filecmp.cmp(root / f, dest / f, shallow=False))
    new = sorted(made - have)
    orphans = sorted(f for f in have - made if is_generated(f, lib))
    return dict(changed=changed, new=new, orphans=orphans)


def check(root: Path = ROOT) -> tuple[int, list[str]]:
    "0: in step; 1: out of step (messages say which files); 2: refused, a hand edit would be overwritten."
    root = Path(root).resolve()
    with tempfile.TemporaryDirectory(prefix='check_sync-') as tmp:
        export_copy(root, Path(tmp))
        res = compare(root, Path(tmp))
    lib, msgs = lib_path(root), []
    hand = sorted(f for f in res['changed'] if is_generated(f, lib) and f in dirty(root))
    if hand:
        msgs += ['refusing: these generated files differ from what their notebooks export and have uncommitted edits;',
                 'running `python tools/export.py` would silently overwrite them:', *(f'  {f}' for f in hand),
                 'hand edits: move each into its notebook (nbs/...), or drop it with `git checkout -- FILE`;',
                 'edits from an earlier export: nothing to keep; then run `python tools/export.py && nbdev_clean`',
                 'and this check again']
        return 2, msgs
    if res['orphans']:
        msgs += ['generated-looking files that no notebook exports (add a notebook with `#| default_exp` or delete them):',
                 *(f'  {f}' for f in res['orphans'])]
    if res['changed'] or res['new']:
        msgs += ['notebooks, library and tests are out of step; export/clean would change:',
                 *(f'  {f}' for f in res['changed']), *(f'  {f} (new)' for f in res['new']),
                 'edit the notebook, run `python tools/export.py && nbdev_clean`, and commit the result']
    if msgs: return 1, msgs
    return 0, ['sync check: notebooks, library and tests are in step']


def main() -> int:
    code, msgs = check(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT)
    print(*msgs, sep='\n')
    return code


if __name__ == '__main__':
    sys.exit(main())
