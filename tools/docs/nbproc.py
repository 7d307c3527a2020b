"""Docs worker (run by `tools/build_docs.py` in a subprocess, cwd = repo root): nbdev's processors without execution.

`nbdev.serve.proc_nbs` runs nbdev's notebook processors (`FilterDefaults`) and, in `exec_show_docs`, *executes*
every exported cell and every cell holding an import (with whatever test code shares that cell) to produce the
`show_doc` outputs. That fails as soon as such a cell needs a variable from a cell it doesn't run, so the site
can't depend on it. This worker runs the same processor list minus `exec_show_docs`, then fills each `show_doc`
cell with nbdev's own `show_doc(obj)` markdown for the object imported from the exported module: the same output,
with no notebook code run. It also dumps signature + docstring (`inspect`) of every public function/class in each
module's `__all__` and of their methods, for what nbdev doesn't show.

    python tools/docs/nbproc.py OUT_DIR NB.ipynb [NB.ipynb ...]   ->  OUT_DIR/<nb>.ipynb and OUT_DIR/api.json
"""
import importlib, inspect, json, os, re, sys, traceback, warnings
from pathlib import Path


class _A:
    def __init__(self, s): self.s = s
    def __repr__(self): return self.s


def _fix(a): return _A(a) if isinstance(a, str) else a


def sig(o, drop_self=False):
    "`inspect.signature` as text, string annotations (from __future__ annotations) shown without quotes."
    try: s = inspect.signature(o)
    except (TypeError, ValueError): return None
    ps = list(s.parameters.values())
    if drop_self and ps and ps[0].name in ('self', 'cls'): ps = ps[1:]
    ps = [p.replace(annotation=_fix(p.annotation)) for p in ps]
    return str(s.replace(parameters=ps, return_annotation=_fix(s.return_annotation)))


def sym_docs(m) -> dict:
    syms = {}
    for name in getattr(m, '__all__', []):
        o = getattr(m, name, None)
        if not (inspect.isclass(o) or inspect.isfunction(o)): continue
        d = {'kind': 'class' if inspect.isclass(o) else 'function', 'sig': sig(o), 'doc': inspect.getdoc(o) or '',
             'methods': []}
        if inspect.isclass(o):
            for k, v in vars(o).items():
                if k.startswith('_'): continue
                kind = 'property' if isinstance(v, property) else 'method'
                f = v.fget if isinstance(v, property) else getattr(v, '__func__', v)
                if not inspect.isfunction(f): continue
                d['methods'].append({'name': k, 'kind': kind, 'doc': inspect.getdoc(f) or '',
                                     'sig': None if kind == 'property' else sig(f, drop_self=not isinstance(v, staticmethod))})
        syms[name] = d
    return syms


def _resolve(name: str, ns: dict):
    head, *rest = name.split('.')
    o = ns[head]
    for r in rest: o = getattr(o, r)
    return o


def main(out_dir: str, *nbs: str) -> int:
    warnings.simplefilter('ignore')
    os.environ['IN_TEST'] = '1'                      # as nbdev.serve_drv does: export calls inside notebooks no-op
    from execnb.nbio import read_nb, write_nb
    from nbdev.config import get_config
    from nbdev.process import NBProcessor
    from nbdev.processors import FilterDefaults, exec_show_docs
    from nbdev.showdoc import show_doc
    lib = get_config().lib_name
    procs = [p for p in FilterDefaults().procs() if p is not exec_show_docs]
    out = Path(out_dir); out.mkdir(parents=True, exist_ok=True)
    res = {'pages': {}, 'docs': {}}
    for f in map(Path, nbs):
        page = res['pages'][f.name] = {'module': None, 'errors': [], 'warnings': []}
        try:
            nb = read_nb(f)
            m = re.search(r'^\s*#\|\s*default_exp\s+(\S+)', '\n'.join(c.source for c in nb.cells if c.cell_type == 'code'), re.M)
            NBProcessor(nb=nb, procs=procs).process()
        except Exception:
            page['errors'].append(f'nbdev processors failed on {f.name}:\n{traceback.format_exc(limit=3)}'); continue
        ns = {}
        if m:
            mod = page['module'] = f'{lib}.{m.group(1)}'
            try:
                module = importlib.import_module(mod)
                ns = dict(vars(module))
                res['docs'][mod] = {'syms': sym_docs(module)}
            except Exception as e:
                page['errors'].append(f'importing {mod} (exported from {f.name}) failed: {type(e).__name__}: {e}')
        for c in nb.cells:
            sd = re.search(r'^\s*show_doc\(\s*([\w.]+)', c.source, re.M) if c.cell_type == 'code' else None
            if not sd: continue
            try:
                obj = _resolve(sd.group(1), ns)
                md = show_doc(obj)._repr_markdown_()
                if '#LNone)' in md:              # nbdev looks the line up by the qualified name, which misses
                    try: line = inspect.getsourcelines(inspect.unwrap(obj))[1]
                    except (TypeError, OSError): line = None
                    md = md.replace('#LNone)', f'#L{line})' if line else ')')
                c['outputs'] = [{'output_type': 'execute_result', 'execution_count': None, 'metadata': {},
                                 'data': {'text/markdown': md, 'text/plain': f'show_doc({sd.group(1)})'}}]
            except Exception as e:
                page['warnings'].append(f'{f.name}: show_doc({sd.group(1)}) not rendered: {type(e).__name__}: {e}')
                c['outputs'] = []
        write_nb(nb, out / f.name)
    (out / 'api.json').write_text(json.dumps(res, indent=1))
    return 0


if __name__ == '__main__':
    sys.exit(main(*sys.argv[1:]))
