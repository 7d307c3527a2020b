"""Build the offline documentation site (`make docs`): `_site/` from the notebooks, README and results.

Quarto can't be installed, so instead of `nbdev_docs` this runs nbdev's own notebook processors (`FilterDefaults`:
show_doc cells, `#|` directives, frontmatter, doc links) over the library notebooks into `_proc/nbs/`, fills the
show_doc cells with nbdev's `show_doc` output for the imported objects (see `tools/docs/nbproc.py` for why not
`nbdev.serve.proc_nbs` itself), turns the Quarto-only leftovers into MyST (callouts -> admonitions, `{=html}` raw
blocks, attribute blocks, frontmatter -> title + summary) and renders everything with Sphinx + myst-nb, execution off,
offline (config: `tools/docs/conf.py`; intermediates in `_proc/`).

Pages: index (README.md), one API page per `nbs/NN_*.ipynb` (numeric order), one page per paper (from
`results/**/<mto|rmae|sbam|sg>_*` and `data/paper/artifacts.csv`), the reproduction ledger (`results/LEDGER.md`),
benchmarks (`results/bench/*.md`) and the experiment notebooks (`nbs/experiments/*.ipynb`).

The build fails (exit 1) on anything that means a broken page: a missing image or link target, a broken
cross-reference, a toctree problem, a MyST parse error, a notebook whose module doesn't import (Sphinx runs with
`-W --keep-going`; the few tolerated warning types are listed with their reasons in `tools/docs/conf.py`), and,
after Sphinx, any local `src=`/`href=` in the HTML that points to no file.

    python tools/build_docs.py [--out _site] [--results results] [--artifacts data/paper/artifacts.csv] [--no-api]
"""
from __future__ import annotations

import argparse, csv, hashlib, html, json, os, re, shutil, subprocess, sys, tempfile, time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONF_DIR = ROOT / 'tools' / 'docs'
PAPERS = [  # (page name, title, experiment-name prefixes)
    ('mto', 'MTO', ('mto_',)),
    ('rmae', 'RMAE', ('rmae_',)),
    ('sbam', 'SBAM / AMR', ('sbam_', 'amr_')),
    ('sgmae', 'SG-MAE', ('sg_', 'sgmae_')),
]
PAPER_ALIASES = {'mto': 'mto', 'rmae': 'rmae', 'sbam': 'sbam', 'amr': 'sbam', 'sbamamr': 'sbam',
                 'sgmae': 'sgmae', 'sg': 'sgmae'}
IMG_EXT = {'.png', '.jpg', '.jpeg', '.gif', '.svg', '.webp'}
CALLOUTS = {'note', 'tip', 'warning', 'important', 'caution'}
MAX_CSV_ROWS = 30
MAX_DOWNLOAD_BYTES = 5 * 2**20


class DocsBuildError(RuntimeError):
    "The site was not built, or has broken pages; the message lists every problem."


# ------------------------------------------------------------------ small markdown helpers

_re_fence = re.compile(r'^\s*(`{3,}|~{3,})')


def _outside_fences(md: str, fn) -> str:
    "Apply `fn` to each run of lines that is not inside a fenced code block."
    out, buf, fence = [], [], None
    for line in md.split('\n'):
        m = _re_fence.match(line)
        if fence is None and m:
            if buf: out.append(fn('\n'.join(buf))); buf = []
            fence = m.group(1); out.append(line)
        elif fence is not None:
            out.append(line)
            if line.strip().startswith(fence[0] * len(fence)) and line.strip().strip(fence[0]) == '': fence = None
        else: buf.append(line)
    if buf: out.append(fn('\n'.join(buf)))
    return '\n'.join(out)


_re_heading = re.compile(r'^(#{1,6})(\s+.*)$', re.M)


def demote(md: str, base: int) -> str:
    "Shift headings so that the shallowest one in `md` becomes level `base`."
    levels = []
    _outside_fences(md, lambda s: levels.extend(len(m.group(1)) for m in _re_heading.finditer(s)) or s)
    if not levels: return md
    shift = max(0, base - min(levels))
    return _outside_fences(md, lambda s: _re_heading.sub(lambda m: '#' * min(6, len(m.group(1)) + shift) + m.group(2), s))


def has_h1(md: str) -> bool:
    found = []
    _outside_fences(md, lambda s: found.extend(re.findall(r'^# \S', s, re.M)) or s)
    return bool(found)


def slug(s: str) -> str: return re.sub(r'[^a-z0-9_.-]+', '-', s.lower()).strip('-')


def md_escape_cell(s: str) -> str: return str(s).replace('|', '\\|').replace('\n', ' ').strip()


def _first_md_cell(nb_path: Path) -> str:
    try: nb = json.loads(nb_path.read_text(encoding='utf-8'))
    except Exception: return ''
    for c in nb.get('cells', []):
        if c.get('cell_type') == 'markdown':
            src = c.get('source', '')
            return ''.join(src) if isinstance(src, list) else src
    return ''


# ------------------------------------------------------------------ Quarto -> MyST

_re_div = re.compile(r'^(\s*)(:{3,})\s*(\{[^}]*\}|[\w-]+)?\s*$')


def _div_attrs(spec: str):
    "Parse a Quarto div spec `{.callout-note title=\"T\" #id}` into (classes, attrs)."
    spec = (spec or '').strip()
    if spec.startswith('{'): spec = spec[1:-1]
    elif spec: spec = '.' + spec
    classes = re.findall(r'(?:^|\s)\.([\w-]+)', spec)
    attrs = {k: a or b for k, a, b in re.findall(r'([\w-]+)=(?:"([^"]*)"|([^\s"]+))', spec)}
    return classes, attrs


def _convert_divs(md: str) -> str:
    "Quarto fenced divs: callouts become MyST admonitions (colon fences), other divs are unwrapped."
    lines = md.split('\n')
    root = {'kind': None, 'items': []}
    stack, fence = [root], None
    i = 0
    while i < len(lines):
        line = lines[i]
        fm = _re_fence.match(line)
        if fence is None and fm: fence = fm.group(1)
        elif fence is not None:
            if line.strip().startswith(fence[0] * len(fence)) and line.strip().strip(fence[0]) == '': fence = None
        else:
            m = _re_div.match(line)
            if m and m.group(3):
                classes, attrs = _div_attrs(m.group(3))
                kind = next((c[len('callout-'):] for c in classes if c.startswith('callout-')), None)
                node = {'kind': kind if kind in CALLOUTS else ('note' if kind else None),
                        'title': attrs.get('title'), 'items': []}
                if node['kind'] and not node['title']:   # a heading right inside a callout is its title
                    j = i + 1
                    while j < len(lines) and not lines[j].strip(): j += 1
                    hm = re.match(r'^#{1,6}\s+(.*)$', lines[j]) if j < len(lines) else None
                    if hm: node['title'] = hm.group(1).strip(); i = j
                stack[-1]['items'].append(node); stack.append(node); i += 1; continue
            if m and not m.group(3):
                if len(stack) > 1: stack.pop()
                i += 1; continue        # an unmatched closing fence is dropped
        stack[-1]['items'].append(line); i += 1

    def depth(n):
        subs = [depth(x) for x in n['items'] if isinstance(x, dict)]
        return (1 if n['kind'] else 0) + (max(subs) if subs else 0)

    def render(n):
        out = []
        for x in n['items']:
            if isinstance(x, str): out.append(x); continue
            body = render(x)
            if not x['kind']: out.extend(body); continue
            colons = ':' * (2 + depth(x))
            if x['title']: out += [f"{colons}{{admonition}} {x['title']}", f":class: {x['kind']}", '']
            else: out += [f"{colons}{{{x['kind']}}}"]
            out += body + [colons]
        return out
    return '\n'.join(render(root))


def quarto_to_myst(md: str) -> str:
    "Turn the Quarto-only markdown that nbdev leaves behind into MyST."
    md = re.sub(r'^(\s*)(`{3,})\s*\{=(\w+)\}\s*$', r'\1\2{raw} \3', md, flags=re.M)   # ```{=html} blocks

    def inline(s):
        s = re.sub(r'`([^`\n]+)`\{=html\}', r'\1', s)                                 # `<b>x</b>`{=html}
        s = re.sub(r'`[^`\n]+`\{=\w+\}', '', s)                                      # other raw inline formats
        s = re.sub(r'\{\{<\s*[^>]*>\}\}', '', s)                                     # {{< shortcodes >}}
        s = re.sub(r'(\]\([^)\s]*(?:\s+"[^"]*")?\))\{[^}\n]*\}', r'\1', s)            # [x](y){target=_blank}
        s = re.sub(r'^(#{1,6}\s+.*?)\s*\{[#.][^}\n]*\}\s*$', r'\1', s, flags=re.M)    # ## Head {#sec .unnumbered}
        s = re.sub(r'^<!-- WARNING: THIS FILE WAS AUTOGENERATED! DO NOT EDIT! -->\s*$', '', s, flags=re.M)
        return s
    md = _outside_fences(md, inline)
    return _convert_divs(md)


# ------------------------------------------------------------------ links, images, assets

_re_link = re.compile(r'(!?)\[((?:[^\[\]]|\[[^\]]*\])*)\]\(\s*<?([^)\s>]+)>?(\s+"[^"]*")?\s*\)')
_re_img_tag = re.compile(r'(<img\b[^>]*?\bsrc=")([^"]+)(")', re.I)


class Site:
    "Everything one build writes into the Sphinx source folder, plus the problems found on the way."

    def __init__(self, src: Path, repo: Path, lib_anchor_prefix: str):
        self.src, self.repo = src, repo
        self.errors: list[str] = []
        self.pages: dict[Path, tuple[str, str | None]] = {}   # source file -> (page file rel to src, label)
        self.html_pages: dict[str, str] = {}                 # 'core.html' -> 'api/core.ipynb'
        self.labels: set[str] = set()
        self.anchor_prefix = lib_anchor_prefix                # 'https://host/baseurl/'

    # -- assets
    def asset(self, f: Path) -> Path:
        "Copy `f` into `_assets/` (mirroring its place in the repo) and return the copy's path in src."
        f = f.resolve()
        try: rel = f.relative_to(self.repo)
        except ValueError: rel = Path('_ext') / hashlib.sha1(str(f.parent).encode()).hexdigest()[:8] / f.name
        dst = self.src / '_assets' / rel
        if not dst.exists():
            dst.parent.mkdir(parents=True, exist_ok=True); shutil.copy2(f, dst)
        return dst

    def rel(self, target: Path, page: Path) -> str:
        return os.path.relpath(target, (self.src / page).parent).replace(os.sep, '/')

    # -- links
    def _page_link(self, page_file: str, frag: str, page: Path, text: str) -> str:
        stem = Path(page_file).stem
        for lab in (f'{stem}-{frag.lower()}', frag.lower(), frag):
            if frag and lab in self.labels: return f'[{text}](#{lab})'
        return f'[{text}]({self.rel(self.src / page_file, page)})'

    def rewrite(self, md: str, base: Path, page: Path, origin: str) -> str:
        "Rewrite the relative links/images of markdown written next to `base` for the page file `page`."
        def link(m):
            bang, text, url, title = m.group(1), m.group(2), m.group(3), m.group(4) or ''
            if self.anchor_prefix and url.startswith(self.anchor_prefix):     # nbdev's own doc links
                path, _, frag = url[len(self.anchor_prefix):].partition('#')
                if path in self.html_pages: return self._page_link(self.html_pages[path], frag, page, text)
                if frag and f'{Path(path).stem}-{frag}' in self.labels: return f'[{text}](#{Path(path).stem}-{frag})'
                return text                                                    # undocumented symbol: plain text
            if re.match(r'^[a-zA-Z][\w+.-]*:', url) or url.startswith(('#', '//')): return m.group(0)
            path, _, frag = url.partition('#')
            path = path.split('?')[0]
            if not path: return m.group(0)
            t = (base / path)
            if t.resolve() in self.pages:
                pf, lab = self.pages[t.resolve()]
                if lab and not frag: return f'[{text}](#{lab})'
                return self._page_link(pf, frag, page, text)
            if t.name in self.html_pages and not t.exists(): return self._page_link(self.html_pages[t.name], frag, page, text)
            if t.is_file():
                a = self.rel(self.asset(t), page)
                if bang: return f'![{text}]({a}{title})'
                return f'{{download}}`{text.replace("`", "")} <{a}>`'
            if t.is_dir(): return text if not bang else m.group(0)
            self.errors.append(f'{origin}: {"image" if bang else "link"} target not found: {url}')
            return m.group(0)

        def img_tag(m):
            url = m.group(2)
            if re.match(r'^[a-zA-Z][\w+.-]*:', url) or url.startswith(('#', '//')): return m.group(0)
            t = base / url.split('#')[0].split('?')[0]
            if t.is_file(): return m.group(1) + self.rel(self.asset(t), page) + m.group(3)
            self.errors.append(f'{origin}: image target not found: {url}')
            return m.group(0)
        # nbdev's linkify also links a backticked name inside a link's text: keep the outer link only
        unnest = lambda s: re.sub(r'\[\[([^\[\]]*)\]\([^)\s]*\)\]\(', r'[\1](', s)
        return _outside_fences(md, lambda s: _re_img_tag.sub(img_tag, _re_link.sub(link, unnest(s))))

    def write(self, page: str, text: str) -> str:
        p = self.src / page
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding='utf-8')
        return page


# ------------------------------------------------------------------ API pages from nbdev's processed notebooks

def process_notebooks(repo: Path, lib_nbs: list[Path], dst: Path) -> dict:
    "nbdev's processors over the library notebooks into `dst` (see `tools/docs/nbproc.py`); returns its `api.json`."
    if dst.exists(): shutil.rmtree(dst)
    r = subprocess.run([sys.executable, str(CONF_DIR / 'nbproc.py'), str(dst), *map(str, lib_nbs)], cwd=repo,
                       capture_output=True, text=True, env={**os.environ, 'PYTHONPATH': str(repo)})
    if r.returncode or not (dst / 'api.json').exists():
        raise DocsBuildError(f'processing the notebooks failed:\n{(r.stderr or r.stdout)[-4000:]}')
    return json.loads((dst / 'api.json').read_text())


def _md_cell(src: str, **meta) -> dict:
    return {'cell_type': 'markdown', 'metadata': meta, 'source': src}


def _src(cell) -> str:
    s = cell.get('source', '')
    return ''.join(s) if isinstance(s, list) else (s or '')


_re_sd_name = re.compile(r'^\s*show_doc\(\s*([\w.]+)', re.M)
_re_directive = re.compile(r'^\s*#\s*\|\s*([\w-]+)\s*:?\s*(.*?)\s*$')
_re_src_link = re.compile(r'^\[source\]\((\S+?)\)(\{[^}\n]*\})?\s*$', re.M)


def _sd_line(md: str) -> int:
    m = re.search(r'#L(\d+)\)', md)
    return int(m.group(1)) if m else 0


def _fmt_sig(name: str, sig: str | None, kind: str) -> str:
    head = 'class' if kind == 'class' else ('def' if kind != 'property' else '@property\ndef')
    return f'```python\n{head} {name}{sig if sig is not None else "(...)"}\n```'


class ApiPage:
    "One processed library notebook turned into a clean notebook for myst-nb."

    def __init__(self, src_nb: Path, proc_nb: Path):
        self.src_nb, self.nb = src_nb, json.loads(proc_nb.read_text(encoding='utf-8'))
        cells = self.nb['cells']
        fm = {}
        if cells and cells[0]['cell_type'] == 'raw' and _src(cells[0]).strip().startswith('---'):
            import yaml
            try: fm = yaml.safe_load(_src(cells[0]).strip().strip('-')) or {}
            except Exception: fm = {}
            cells = cells[1:]
        self.cells, self.fm = cells, fm
        self.name = Path(fm.get('output-file', re.sub(r'^\d+_', '', src_nb.stem) + '.html')).stem
        self.title = str(fm.get('title') or self.name)
        self.page = f'api/{self.name}.ipynb'
        self.module = None                                    # 'mimpaper.core', set from the worker's api.json
        self.shown = [n.lower() for c in cells if c.get('cell_type') == 'code' for n in _re_sd_name.findall(_src(c))]

    def labels(self) -> set[str]: return {f'{self.name}-{n}' for n in self.shown}

    def render(self, site: Site, docs: dict, lib: str) -> dict:
        mod = self.module
        syms = (docs.get(mod) or {}).get('syms', {})
        nbs_dir = self.src_nb.parent
        origin = f'nbs/{self.src_nb.name}'
        out, used = [], set()
        head = f'# {self.title}\n'
        if self.fm.get('description'): head += f'\n<p class="mp-lead">{html.escape(str(self.fm["description"]))}</p>\n'
        if mod: head += f'\n<p class="mp-meta">module <code>{mod}</code> · notebook <code>{origin}</code></p>\n'
        out.append(_md_cell(head))
        cells = self._sort_showdocs(self.cells)
        for c in cells:
            t = c.get('cell_type')
            if t == 'markdown':
                s = site.rewrite(quarto_to_myst(_src(c)), nbs_dir, Path(self.page), origin)
                if s.strip(): out.append(_md_cell(s))
            elif t == 'code':
                sd = _re_sd_name.search(_src(c))
                if sd: out.extend(self._showdoc(c, sd.group(1), syms, site, used)); continue
                cell = self._code(c, site, nbs_dir, origin)
                if cell: out.append(cell)
            elif t == 'raw' and _src(c).strip():
                out.append({'cell_type': 'raw', 'metadata': {}, 'source': _src(c)})
        missing = [(n, d) for n, d in syms.items() if n.lower() not in self.shown]
        if missing:     # exported but not shown by nbdev (e.g. defined in a hidden cell): document from `inspect`
            s = ['## Other exports\n']
            for n, d in missing: s.append(self._sym_md(n, d, used, level=3))
            out.append(_md_cell('\n'.join(s)))
        nb = {'cells': [dict(c, id=f'c{i}') for i, c in enumerate(out)], 'nbformat': 4, 'nbformat_minor': 5,
              'metadata': {'kernelspec': {'display_name': 'Python 3', 'language': 'python', 'name': 'python3'},
                           'language_info': {'name': 'python', 'pygments_lexer': 'ipython3'}}}
        for c in nb['cells']:
            if c['cell_type'] == 'code': c.setdefault('execution_count', None); c.setdefault('outputs', [])
        return nb

    @staticmethod
    def _sort_showdocs(cells):
        "nbdev inserts a cell's show_docs in reverse order: put each run of them back in source order."
        res, run = [], []
        def flush():
            run.sort(key=lambda c: _sd_line(''.join(''.join(o.get('data', {}).get('text/markdown', ''))
                                                    for o in c.get('outputs', []))))
            res.extend(run); run.clear()
        for c in cells:
            if c.get('cell_type') == 'code' and _re_sd_name.search(_src(c)): run.append(c)
            else: flush(); res.append(c)
        flush()
        return res

    def _sym_md(self, name, d, used, level):
        lab = f'{self.name}-{name.lower()}'
        s = [] if lab in used else [f'({lab})=']
        used.add(lab)
        s.append(f'{"#" * level} {name}\n')
        s.append(_fmt_sig(name.split('.')[-1], d.get('sig'), d.get('kind')))
        if d.get('doc'): s.append('\n' + d['doc'] + '\n')
        s += self._methods_md(name, d, used, level + 1)
        return '\n'.join(s)

    def _methods_md(self, cls, d, used, level):
        ms = [m for m in d.get('methods', []) if f'{cls}.{m["name"]}'.lower() not in self.shown]
        if not ms: return []
        s = []
        for m in ms:
            lab = f'{self.name}-{cls.lower()}.{m["name"].lower()}'
            if lab not in used: s.append(f'({lab})='); used.add(lab)
            s.append(f'{"#" * level} {cls}.{m["name"]}\n')
            s.append(_fmt_sig(m['name'], m.get('sig'), m['kind']))
            if m.get('doc'): s.append('\n' + m['doc'] + '\n')
        return s

    def _showdoc(self, c, name, syms, site, used):
        mds = [''.join(o['data']['text/markdown']) if isinstance(o['data']['text/markdown'], list) else o['data']['text/markdown']
               for o in c.get('outputs', []) if 'text/markdown' in o.get('data', {})]
        d = syms.get(name)
        lab = f'{self.name}-{name.lower()}'
        if not mds:
            if d: return [_md_cell(self._sym_md(name, d, used, 3))]
            site.errors.append(f'nbs/{self.src_nb.name}: show_doc({name}) produced no output')
            return []
        md = mds[0].strip()
        md = re.sub(r'^-{3,}\s*\n', '', md)                               # leading rule
        def src_link(m):
            path = re.sub(r'^.*/blob/[^/]+/', '', m.group(1))
            p, _, line = path.partition('#L')
            return f'<p class="mp-source">source: {html.escape(p)}{":" + line if line else ""}</p>\n'
        md = _re_src_link.sub(src_link, md)
        md = re.sub(r'```python\s*\n(.*?)\n\s*```', lambda m: '```python\n' + m.group(1).strip('\n') + '\n```', md, count=1, flags=re.S)
        if d and d.get('kind') == 'class': md = re.sub(r'(```python\n)def ', r'\1class ', md, count=1)
        md = site.rewrite(quarto_to_myst(md), self.src_nb.parent, Path(self.page), f'nbs/{self.src_nb.name}')
        pre = '' if lab in used else f'({lab})=\n'
        used.add(lab)
        # the heading first (after the label), then the source span, so the label targets the heading
        hm = re.search(r'^(#{1,6}) .*$', md, re.M)
        if hm:
            heading = hm.group(0); rest = (md[:hm.start()] + md[hm.end():]).strip()
            md = f'{pre}{heading}\n\n{rest}'
            level = len(hm.group(1))
        else: md, level = pre + md, 3
        if d and d.get('kind') == 'class': md += '\n\n' + '\n'.join(self._methods_md(name, d, used, min(6, level + 1)))
        return [_md_cell(md)]

    def _code(self, c, site, nbs_dir, origin):
        lines, dirs = _src(c).split('\n'), {}
        body = []
        for l in lines:
            m = _re_directive.match(l)
            if m: dirs[m.group(1).lower()] = m.group(2).lower().strip('"\'')
            else: body.append(l)
        src = '\n'.join(body).strip()
        outs = c.get('outputs', [])
        if dirs.get('include') == 'false': return None
        tags = []
        if dirs.get('echo') == 'false' or not src: tags.append('remove-input')
        if dirs.get('output') == 'false': tags.append('remove-output')
        if dirs.get('code-fold') in ('true',): tags.append('hide-input')
        if not src and not outs: return None
        for o in outs:
            data = o.get('data', {})
            if 'text/markdown' in data:
                t = data['text/markdown']; t = ''.join(t) if isinstance(t, list) else t
                data['text/markdown'] = site.rewrite(quarto_to_myst(t), nbs_dir, Path(self.page), origin)
        return {'cell_type': 'code', 'metadata': {'tags': tags} if tags else {}, 'source': src,
                'execution_count': None, 'outputs': outs}


# ------------------------------------------------------------------ results pages

def _paper_of(name: str) -> str | None:
    for key, _, prefixes in PAPERS:
        if name.startswith(prefixes): return key
    return None


def scan_results(results: Path) -> dict[str, list[tuple[str, Path]]]:
    "`{experiment: [(profile, dir), ...]}` for `results/<profile>/<experiment>/` (and `results/<experiment>/`)."
    exps = defaultdict(list)
    if not results.is_dir(): return exps
    for d in sorted(results.iterdir()):
        if not d.is_dir() or d.name.startswith(('.', '_')) or d.name == 'bench' or d.name.endswith('-check'): continue
        if _paper_of(d.name): exps[d.name].append(('', d)); continue
        for e in sorted(d.iterdir()):
            if e.is_dir() and _paper_of(e.name): exps[e.name].append((d.name, e))
    return exps


def _fmt_num(v: str) -> str:
    try: f = float(v)
    except ValueError: return v
    if len(v) <= 8 or f != f: return v
    return f'{f:.4g}'


def csv_table(path: Path, max_rows: int = MAX_CSV_ROWS) -> str:
    try:
        with open(path, newline='', encoding='utf-8') as fh: rows = list(csv.reader(fh))
    except Exception as e: return f'*({path.name}: unreadable: {e})*'
    rows = [r for r in rows if r]
    if not rows: return f'*({path.name} is empty)*'
    head, body = rows[0], rows[1:]
    n = max(len(r) for r in rows)
    fmt = lambda r: '| ' + ' | '.join(md_escape_cell(_fmt_num(x)) or ' ' for x in (r + [''] * (n - len(r)))) + ' |'
    s = [fmt(head), '|' + '---|' * n] + [fmt(r) for r in body[:max_rows]]
    if len(body) > max_rows: s.append(f'\n*first {max_rows} of {len(body)} rows*')
    return '\n'.join(s)


def _provenance_line(p: Path) -> str:
    try: d = json.loads(p.read_text(encoding='utf-8'))
    except Exception: return ''
    bits = []
    if d.get('git_sha'): bits.append(f"git `{str(d['git_sha'])[:10]}`{' (dirty)' if d.get('git_dirty') else ''}")
    for k, lab in (('params_hash', 'params'), ('device', 'device'), ('seed', 'seed'), ('date', 'date')):
        if d.get(k) not in (None, ''): bits.append(f'{lab} `{d[k]}`')
    if d.get('wall_time_s') is not None:
        try: bits.append(f"wall time {float(d['wall_time_s']):.1f} s")
        except (TypeError, ValueError): pass
    return ('*Provenance:* ' + ' · '.join(bits)) if bits else ''


def experiment_md(site: Site, exp_dir: Path, page: Path, level: int) -> str:
    "Everything in one experiment's results folder: reports (*.md), figures, CSV tables, other files."
    files = sorted(f for f in exp_dir.rglob('*') if f.is_file() and not any(p.startswith('.') for p in f.relative_to(exp_dir).parts))
    out, referenced = [], set()
    prov = exp_dir / 'provenance.json'
    if prov.exists() and (line := _provenance_line(prov)): out.append(line + '\n')
    for f in files:
        if f.suffix.lower() == '.md':
            md = f.read_text(encoding='utf-8')
            for m in _re_link.finditer(md): referenced.add((f.parent / m.group(3).split('#')[0]).resolve())
            out.append(site.rewrite(demote(quarto_to_myst(md), level), f.parent, page, str(f.relative_to(site.repo) if f.is_relative_to(site.repo) else f)))
    for f in files:
        if f.suffix.lower() in IMG_EXT and f.resolve() not in referenced:
            a = site.rel(site.asset(f), page)
            out.append(f'```{{figure}} {a}\n:alt: {f.name}\n\n`{f.relative_to(exp_dir)}`\n```\n')
    for f in files:
        if f.suffix.lower() == '.csv':
            a = site.rel(site.asset(f), page)
            out.append(f'{"#" * min(6, level)} {f.relative_to(exp_dir)}\n\n{csv_table(f)}\n\n{{download}}`{f.name} <{a}>`\n')
    others = [f for f in files if f.suffix.lower() not in IMG_EXT | {'.md', '.csv'} and f.name != 'provenance.json'
              and f.suffix.lower() not in ('.pt', '.pth', '.ckpt', '.npy', '.npz') and f.stat().st_size <= MAX_DOWNLOAD_BYTES]
    if others:
        out.append('Other files: ' + ', '.join(f'{{download}}`{f.relative_to(exp_dir)} <{site.rel(site.asset(f), page)}>`' for f in others) + '\n')
    if not out: out.append('*(this folder is empty)*\n')
    return '\n'.join(out)


def read_artifacts(path: Path | None) -> list[dict]:
    if not path or not path.is_file(): return []
    with open(path, newline='', encoding='utf-8') as fh:
        return [{(k or '').strip().lower(): (v or '').strip() for k, v in r.items()} for r in csv.DictReader(fh)]


CLAIM_SHOW = ('artifact', 'claim', 'metric', 'baseline', 'method', 'n_seeds', 'baseline_mean', 'method_mean', 'effect',
              'ci_low', 'ci_high', 'verdict', 'note')

def claims_md(results: Path, key: str) -> list[str]:
    "The paper's rows of every profile's `CLAIMS.csv`: effect, 95% interval over seeds and verdict, with a plain summary."
    out = []
    for f in sorted(Path(results).glob('*/CLAIMS.csv')):
        if f.parent.name.endswith('-check'): continue
        with f.open(newline='') as fh: rows = [r for r in csv.DictReader(fh)
                                               if PAPER_ALIASES.get(re.sub(r'[^a-z0-9]', '', r.get('paper', '').lower())) == key]
        if not rows: continue
        n = max(int(float(r['n_seeds'] or 0)) for r in rows)
        counts = {v: sum(r['verdict'] == v for r in rows) for v in ('supported', 'contradicted', 'inconclusive', 'not-tested')}
        out += [f'### Claims, profile `{f.parent.name}` (up to {n} paired seeds)\n',
                'What reproduces at this scale: ' + ', '.join(f'**{c} {v}**' for v, c in counts.items() if c) +
                '. Effect = mean over seeds of (method - baseline), with its 95% paired-t interval; the verdict follows from the '
                'interval (`supported`/`contradicted` when it excludes 0, `inconclusive` when it contains 0, `not-tested` with '
                'one seed or when a guard applies).\n',
                '| ' + ' | '.join(c.replace('_', ' ') for c in CLAIM_SHOW) + ' |', '|' + '---|' * len(CLAIM_SHOW)]
        out += ['| ' + ' | '.join(md_escape_cell(_fmt_num(r.get(c, '')) if c not in ('claim', 'note', 'artifact', 'baseline', 'method', 'verdict', 'metric')
                                                  else (f"**{r[c]}**" if c == 'verdict' else r.get(c, ''))) for c in CLAIM_SHOW) + ' |' for r in rows]
        out.append('')
    if not out: out = ['### Claims\n', '*No claims judged yet (`results/PROFILE/CLAIMS.csv`).*\n']
    return ['## Claims and verdicts\n', *out]

def evidence_dirs(results: Path, key: str, exclude=()) -> list[tuple[str, Path]]:
    "`(profile, folder)` of every experiment named in the paper's rows of a profile's `CLAIMS.csv` (its figures back the verdicts)."
    out = []
    for f in sorted(Path(results).glob('*/CLAIMS.csv')):
        if f.parent.name.endswith('-check'): continue
        with f.open(newline='') as fh:
            names = dict.fromkeys(r.get('experiment', '') for r in csv.DictReader(fh)
                                  if PAPER_ALIASES.get(re.sub(r'[^a-z0-9]', '', r.get('paper', '').lower())) == key)
        out += [(f.parent.name, f.parent / n) for n in names if n and n not in exclude and (f.parent / n).is_dir()]
    return out

def paper_page(site: Site, key: str, title: str, prefixes, exps: dict, artifacts: list[dict], results: Path) -> str:
    page = Path(f'papers/{key}.md')
    mine = {e: v for e, v in exps.items() if _paper_of(e) == key}
    arts = [a for a in artifacts if PAPER_ALIASES.get(re.sub(r'[^a-z0-9]', '', a.get('paper', '').lower())) == key]
    pre = ', '.join(f'`{p}*`' for p in prefixes)
    s = [f'# {title}\n', f'<p class="mp-lead">Reproduction of the {html.escape(title)} paper: its artifacts as listed in '
         f'<code>data/paper/artifacts.csv</code>, and every experiment named {html.escape(", ".join(p + "*" for p in prefixes))} '
         f'found under <code>results/</code>.</p>\n']
    s.append('## Paper artifacts\n')
    if arts:
        s += ['| Artifact | Kind | Caption | Claim | Experiment |', '|---|---|---|---|---|']
        for a in arts:
            e = a.get('experiment', '')
            exp = (f'[{md_escape_cell(e)}](#results-{slug(e)})' if e in mine else
                   (f'`{md_escape_cell(e)}` (no results yet)' if e else ''))
            s.append('| ' + ' | '.join(md_escape_cell(a.get(k, '')) for k in ('artifact', 'kind', 'caption', 'claim')) + f' | {exp} |')
        s.append('')
    else: s.append('*No artifacts listed for this paper in `data/paper/artifacts.csv` yet.*\n')
    s += claims_md(results, key)
    ev = evidence_dirs(results, key, exclude=set(mine))
    if ev:
        s += ['## Evidence behind the verdicts\n', 'The experiments whose paired runs give the verdicts above: the effects with their '
              'intervals, accuracy with chance and random init, the monitor curves, per-seed scores and wall times.\n']
        for prof, d in ev:
            lab = f'evidence-{key}-{slug(prof)}-{slug(d.name)}'
            site.labels.add(lab)
            s += [f'({lab})=\n### {d.name} (profile `{prof}`)\n', experiment_md(site, d, page, 4)]
    s.append('## Experiments\n')
    if not mine: s.append(f'*No results yet: run an experiment named {pre} (`make reproduce`) to fill this page.*\n')
    for e in sorted(mine):
        lab = f'results-{slug(e)}'
        site.labels.add(lab)
        s.append(f'({lab})=\n### {e}\n')
        for profile, d in mine[e]:
            if profile or len(mine[e]) > 1: s.append(f'#### Profile `{profile or "default"}`\n')
            s.append(experiment_md(site, d, page, 5))
    return '\n'.join(s)


# ------------------------------------------------------------------ the build

def build(out_dir: str | Path | None = None, *, results: str | Path | None = None, artifacts: str | Path | None = None,
          readme: str | Path | None = None, nbs: str | Path | None = None, api: bool = True,
          work_dir: str | Path | None = None, quiet: bool = False) -> dict:
    "Build the site into `out_dir` (default `_site/`); raise `DocsBuildError` listing every broken page."
    t0 = time.time()
    repo = ROOT
    out = Path(out_dir or repo / '_site').resolve()
    results = Path(results or repo / 'results')
    artifacts = Path(artifacts or repo / 'data' / 'paper' / 'artifacts.csv')
    readme = Path(readme or repo / 'README.md')
    nbs = Path(nbs or repo / 'nbs').resolve()
    if (out.exists() and any(out.iterdir()) and out != (repo / '_site').resolve()
            and not (out / '.buildinfo').exists() and not (out / '.mimpaper-site').exists()):
        raise DocsBuildError(f'{out} exists and is not a site built by this script; refusing to overwrite it')
    tmp = None
    if work_dir is None:
        if out == (repo / '_site').resolve(): work_dir = repo / '_proc'
        else: work_dir = tmp = Path(tempfile.mkdtemp(prefix='mimpaper-docs-'))
    work = Path(work_dir)
    src = work / 'src'
    log = (lambda *a: None) if quiet else (lambda *a: print('docs:', *a, flush=True))

    from nbdev.config import get_config
    cfg = get_config(path=repo)
    lib = cfg.lib_name
    prefix = (cfg.get('doc_host', '') + cfg.get('doc_baseurl', '')).rstrip('/') + '/'
    try:
        lib_nbs = sorted(f for f in nbs.glob('[0-9]*_*.ipynb') if re.match(r'^\d+_', f.name)) if api else []
        proc, api_info = work / 'nbs', {'pages': {}, 'docs': {}}
        if lib_nbs:
            api_info = process_notebooks(repo, lib_nbs, proc)
            log(f'nbdev processors: {len(lib_nbs)} notebooks ({time.time() - t0:.1f}s)')
            for i in api_info['pages'].values():
                for w in i['warnings']: log('warning:', w)
            errs = [e for i in api_info['pages'].values() for e in i['errors']]
            if errs: raise DocsBuildError('docs build failed:\n  ' + '\n  '.join(errs))
        if src.exists(): shutil.rmtree(src)
        src.mkdir(parents=True)
        site = Site(src, repo, prefix)

        # register every page first, so links between pages resolve whatever the order
        pages = [ApiPage(f, proc / f.name) for f in lib_nbs]
        for p in pages: p.module = api_info['pages'][p.src_nb.name]['module']
        for p in pages:
            site.pages[p.src_nb.resolve()] = (p.page, None); site.html_pages[f'{p.name}.html'] = p.page
            site.labels |= p.labels()
        ledger, bench = results / 'LEDGER.md', sorted((results / 'bench').rglob('*.md')) if (results / 'bench').is_dir() else []
        bname = lambda b: b.relative_to(results / 'bench').with_suffix('').as_posix()   # 'bench', 'cpu-xeon-amx/bench'
        exp_nbs = sorted((nbs / 'experiments').glob('*.ipynb'))
        if ledger.is_file(): site.pages[ledger.resolve()] = ('ledger.md', None)
        for b in bench: site.pages[b.resolve()] = ('benchmarks.md', f'bench-{slug(bname(b))}')
        for e in exp_nbs: site.pages[e.resolve()] = ('experiments.md', f'experiment-{slug(e.stem)}')
        site.labels |= {f'bench-{slug(bname(b))}' for b in bench} | {f'experiment-{slug(e.stem)}' for e in exp_nbs}
        if readme.is_file(): site.pages[readme.resolve()] = ('index.md', None)

        # API pages
        docs = api_info['docs']
        for p in pages: site.write(p.page, json.dumps(p.render(site, docs, lib), indent=1))

        # papers, ledger, benchmarks, experiments
        exps, arts = scan_results(results), read_artifacts(artifacts)
        paper_files = [site.write(f'papers/{k}.md', paper_page(site, k, t, pre, exps, arts, results)) for k, t, pre in PAPERS]
        extra = []
        if ledger.is_file():
            md = quarto_to_myst(ledger.read_text(encoding='utf-8'))
            if not has_h1(md): md = '# Reproduction ledger\n\n' + demote(md, 2)
            extra.append(site.write('ledger.md', site.rewrite(md, ledger.parent, Path('ledger.md'), 'results/LEDGER.md')))
        if bench:
            s = ['# Benchmarks\n']
            for b in bench:
                s.append(f'(bench-{slug(bname(b))})=\n## {bname(b)}\n')
                s.append(site.rewrite(demote(quarto_to_myst(b.read_text(encoding='utf-8')), 3), b.parent, Path('benchmarks.md'), f'results/bench/{bname(b)}.md'))
            extra.append(site.write('benchmarks.md', '\n'.join(s)))
        s = ['# Experiments\n', 'The experiment notebooks (`nbs/experiments/`), run with papermill by `mimpaper reproduce`; '
             'their results fill the paper pages.\n']
        if not exp_nbs: s.append('*No experiment notebooks yet.*\n')
        for e in exp_nbs:
            a = site.rel(site.asset(e), Path('experiments.md'))
            first, title = _first_md_cell(e), e.stem
            if (hm := re.match(r'^\s*#\s+(.+?)\s*$', first, re.M)) and not first[:hm.start()].strip():
                title, first = hm.group(1), first[hm.end():]          # the notebook's own title names its section
            first = site.rewrite(demote(quarto_to_myst(first), 3), e.parent, Path('experiments.md'), f'nbs/experiments/{e.name}')
            s.append(f'(experiment-{slug(e.stem)})=\n## {title}\n\n{first}\n\nNotebook: {{download}}`{e.name} <{a}>`\n')
        extra.append(site.write('experiments.md', '\n'.join(s)))

        # index
        md = quarto_to_myst(readme.read_text(encoding='utf-8')) if readme.is_file() else ''
        if not has_h1(md): md = f'# {cfg.get("title", lib)}\n\n' + md
        if len(re.sub(r'^#.*$', '', md, flags=re.M).strip()) < 40 and cfg.get('description'):   # a bare README
            md = re.sub(r'^(# .*)$', lambda m: m.group(1) + f'\n\n<p class="mp-lead">{html.escape(cfg.get("description"))}</p>\n', md, count=1, flags=re.M)
        md = site.rewrite(md, readme.parent, Path('index.md'), readme.name)
        toc = lambda cap, items: (f'\n```{{toctree}}\n:caption: {cap}\n:maxdepth: 1\n\n' +
                                  '\n'.join(str(Path(i).with_suffix('')) for i in items) + '\n```\n') if items else ''
        md += '\n\n## Contents\n' + toc('API', [p.page for p in pages]) + toc('Papers', paper_files) + toc('Reproduction', extra)
        site.write('index.md', md)

        # render
        n_docs = 1 + len(pages) + len(paper_files) + len(extra)
        log(f'{n_docs} pages generated ({time.time() - t0:.1f}s); running sphinx')
        # sphinx writes into work/html (myst-nb puts its `jupyter_execute/` beside the output folder), then it moves to `out`
        html_dir = work / 'html'
        for d in (html_dir, work / 'jupyter_execute'):
            if d.exists(): shutil.rmtree(d)
        cmd = [sys.executable, '-m', 'sphinx', '-b', 'html', '-c', str(CONF_DIR), '-d', str(work / 'doctrees'),
               '-E', '-q', '-W', '--keep-going', str(src), str(html_dir)]
        r = subprocess.run(cmd, cwd=repo, capture_output=True, text=True)
        problems = list(dict.fromkeys(site.errors))
        warns = [l for l in (r.stderr or '').splitlines() if l.strip()]
        if r.returncode: problems += warns or [f'sphinx exited with {r.returncode}']
        if out.exists(): shutil.rmtree(out)
        if html_dir.exists():
            if (src / '_assets').exists(): shutil.copytree(src / '_assets', html_dir / '_assets', dirs_exist_ok=True)  # raw <img>
            shutil.rmtree(html_dir / '_sources', ignore_errors=True)
            (html_dir / '.mimpaper-site').write_text('built by tools/build_docs.py\n')
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(html_dir), str(out))
            problems += check_html(out)
        if problems:
            raise DocsBuildError(f'docs build failed: {len(problems)} problem(s)\n  ' + '\n  '.join(problems))
    finally:
        if tmp: shutil.rmtree(tmp, ignore_errors=True)
    dt = time.time() - t0
    log(f'built {n_docs} pages into {out} in {dt:.1f}s')
    return {'out': out, 'seconds': dt, 'pages': n_docs}


_re_ref = re.compile(r'\b(src|href)="([^"]+)"')


def check_html(out: Path) -> list[str]:
    "Local `src=`/`href=` targets in the built HTML that don't exist (catches raw-HTML images too)."
    bad = []
    for f in sorted(out.rglob('*.html')):
        for kind, url in _re_ref.findall(f.read_text(encoding='utf-8', errors='replace')):
            url = html.unescape(url)
            if re.match(r'^[a-zA-Z][\w+.-]*:', url) or url.startswith(('#', '//')): continue
            path = url.split('#')[0].split('?')[0]
            if not path: continue
            if not (f.parent / path).exists():
                bad.append(f'{f.relative_to(out)}: {"image/script" if kind == "src" else "link"} target not found: {url}')
    return bad


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--out', default=None, help='output folder (default: _site/)')
    ap.add_argument('--results', default=None, help='results folder (default: results/)')
    ap.add_argument('--artifacts', default=None, help='paper artifacts CSV (default: data/paper/artifacts.csv)')
    ap.add_argument('--readme', default=None, help='markdown file for the index page (default: README.md)')
    ap.add_argument('--no-api', action='store_true', help='skip the API pages (no notebook processing)')
    a = ap.parse_args(argv)
    try: build(a.out, results=a.results, artifacts=a.artifacts, readme=a.readme, api=not a.no_api)
    except DocsBuildError as e:
        print(e, file=sys.stderr); return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
