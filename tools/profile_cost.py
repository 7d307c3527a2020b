"""Estimate what a fresh run of a profile costs on this machine, from the runs trained and scored here (local or committed).

    python tools/profile_cost.py --profile cpu                 # the profile as it stands
    python tools/profile_cost.py --profile cpu --final         # every experiment pinned to the earlier recipe moved to the default
    python tools/profile_cost.py --profile cpu --drop evidence_analysis --workers 2
    python tools/profile_cost.py --profile cpu --out results/cpu   # also writes COST.md and cost.csv there

Every `evidence_claims` experiment is expanded into the runs it trains, exactly as `reproduce --workers W` would: the
`(arm, seed)` jobs of `evidence.side_by_side_jobs`, each run once in the profile (the first experiment in run order that
needs it trains and scores it; the others find it cached), a branch waiting for its seed's trunk. A job costs its run's
own training (the epochs after the branch point, or all of a trunk's or a from-epoch-0 run's) plus scoring (kNN + probe,
and the random init of a trunk), as measured on runs of this machine (`runtime.json`'s CPU name) trained at one thread
(`torch_threads`), the way `--workers` trains them: local runs, and for an arm with none, the runs that the committed
`results/<profile>/*/timing.csv` record for this machine at one thread (its `cpu`, `threads`, `score_s` columns; so a
fresh checkout can cost the profile too). The median over those runs of the same arm, else (an arm not yet trained
here) of the same kind from the same trunk method (a run from epoch 0: as that trunk). The base lr does not change a
run's cost, so runs of either recipe measure an arm. Other notebooks cost what their last run recorded (`wall_time_total_s`). Wall time: a list schedule
of the jobs on W one-thread workers, per experiment (each experiment's own pool) and for the whole profile in one pool
in plan order (what `reproduce --workers W` does), plus the notebooks that train nothing. Prints one row per experiment and the total; an estimate,
not a measurement of one uninterrupted run.
"""
import argparse, ast, json, platform, re, statistics, subprocess, sys
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
PENDING = 'rerun at the default pending'


def cpu_name() -> str:
    out = subprocess.run(['lscpu'], capture_output=True, text=True).stdout
    return next((l.split(':', 1)[1].strip() for l in out.splitlines() if l.startswith('Model name')), platform.processor())


def trunk_and_kind(arm: str, std: dict | None = None) -> tuple[str, str] | None:
    """(the trunk method, 'trunk' | 'scratch' | 'branch') of a registered evidence arm; None for an arm no longer registered.
    `std`: the profile's defaults (an arm such as `rmae-gpatch` reads its dataset from them)."""
    from mimpaper.evidence import arm_trunk
    try: trunk, o = arm_trunk(arm, {'mask_ratio': 0.75, **(std or {}), 'branch_epoch': 1, 'seed': 0})
    except Exception: return None
    return trunk, 'trunk' if not o else 'scratch' if o.get('scratch') else 'branch'


def measured_runs(runs_dir: Path, machine: str, std: dict | None = None) -> pd.DataFrame:
    "One row per finished local run trained on `machine` at one thread: arm, own training seconds, scoring seconds."
    rows = []
    if not runs_dir.is_dir(): return pd.DataFrame(rows)
    for d in sorted(p for p in runs_dir.iterdir() if (p / 'DONE').exists() and (p / 'runtime.json').exists()):
        rt = json.loads((d / 'runtime.json').read_text())
        if rt.get('device_name') != machine or rt.get('torch_threads') != 1: continue
        arm = d.name.rsplit('-s', 1)[0]
        cfg = yaml.safe_load((d / 'config.yaml').read_text())
        ep = pd.read_csv(d / 'epochs.csv')
        branch = cfg['train'].get('init_mode') == 'branch'
        start = int(rt.get('start_epoch') or 0) if branch else 0          # a branch's own epochs only
        own = ep[ep.epoch > start].wall_s.sum()
        ev = [json.loads(f.read_text()) for f in d.glob('eval-*.json') if not f.name.startswith('eval-init-')]
        ev = [e['eval_s'] for e in ev if e.get('features', 'fp32') == 'fp32' and e.get('eval_s')]
        tk = trunk_and_kind(arm, std)
        if tk is None: continue                                        # an arm no longer registered
        trunk, kind = tk
        rows.append({'arm': arm, 'trunk': trunk, 'kind': kind, 'train_s': float(own), 'score_s': min(ev) if ev else None})
    return pd.DataFrame(rows)


def committed_runs(results_dir: Path, machine: str, skip_arms=(), std: dict | None = None) -> pd.DataFrame:
    """Rows as `measured_runs` from the committed `timing.csv` of each experiment (those that record `cpu`, `threads` and
    `score_s`): the runs trained on `machine` at one thread, each (arm, seed, run settings) once, arms in `skip_arms` left out
    (measured locally). A fresh checkout has these without any local run."""
    from mimpaper.core import params_hash
    from mimpaper.reproduce import RUN_SETTINGS
    rows, seen = [], set()
    for t in sorted(results_dir.glob('*/timing.csv')):
        df, prov = pd.read_csv(t), t.parent / 'provenance.json'
        if not {'cpu', 'threads', 'score_s', 'own_train_s'} <= set(df.columns) or not prov.exists(): continue
        hp = params_hash({k: v for k, v in json.loads(prov.read_text()).get('params', {}).items() if k in RUN_SETTINGS})
        for r in df[(df.cpu == machine) & (df.threads == 1)].to_dict('records'):
            if r['arm'] in skip_arms or (r['arm'], r['seed'], hp) in seen: continue
            seen.add((r['arm'], r['seed'], hp))
            tk = trunk_and_kind(r['arm'], std)
            if tk is None: continue
            trunk, kind = tk
            sc = float(r['score_s']) / (2 if kind == 'trunk' else 1)       # a trunk's row holds its random init's scoring too
            rows.append({'arm': r['arm'], 'trunk': trunk, 'kind': kind, 'train_s': float(r['own_train_s']), 'score_s': sc or None})
    return pd.DataFrame(rows, columns=['arm', 'trunk', 'kind', 'train_s', 'score_s'])


def cost_of(arm: str, kind: str, trunk: str, meas: pd.DataFrame) -> tuple[float, float, str]:
    "(train_s, score_s, source) of one job of `arm` from the measured runs (local and committed)."
    m, src = meas[meas.arm == arm], 'measured'
    if m.empty and kind == 'scratch':                                  # from epoch 0: trained like its trunk, with the change
        m, src = meas[(meas.kind == 'trunk') & (meas.trunk == trunk)], f'as the {trunk} trunk'
    plural = {'trunk': 'trunks', 'branch': 'branches', 'scratch': 'from-epoch-0 runs'}[kind]
    if m.empty: m, src = meas[(meas.kind == kind) & (meas.trunk == trunk)], f'as {plural} from {trunk}'
    if m.empty:                                                        # another method's runs: a rough guess, said so
        m = meas[meas.kind == kind]
        src = f"as {plural} of {', '.join(sorted(set(m.trunk)))} (no {trunk} run measured: rough, e.g. SimMIM encodes 4x the tokens)"
    if m.empty: raise SystemExit(f"profile_cost: no local run of arm {arm!r} or of any {kind} to measure it by")
    sc = m.score_s.dropna()
    if sc.empty: sc = meas[meas.trunk == trunk].score_s.dropna()
    return float(statistics.median(m.train_s)), float(statistics.median(sc)) if len(sc) else float('nan'), src


def schedule(jobs: list[dict], workers: int) -> float:
    "Wall seconds of `jobs` (`cost`, `key`, `needs`: a key or None) on `workers` workers, in order, a job waiting for what it needs."
    free, done, t, pending = [0.] * workers, {}, 0., list(jobs)
    while pending:
        free.sort(); t = free[0]
        j = next((j for j in pending if j['needs'] is None or j['needs'] in done and done[j['needs']] <= t), None)
        if j is None:                                                  # wait for the earliest needed job to finish
            t = min(done[j['needs']] for j in pending if j['needs'] in done)
            free[0] = max(free[0], t); continue
        pending.remove(j)
        free[0] = t + j['cost']; done[j['key']] = free[0]
    return max(free) if jobs else 0.


def write_cost(out: Path, df: pd.DataFrame, head: str, totals: list[str], a) -> Path:
    "COST.md (what was printed, as markdown, with the command and date) and cost.csv in `out`."
    import datetime
    from mimpaper.core import atomic_write
    from mimpaper.reproduce import _md_table
    out.mkdir(parents=True, exist_ok=True)
    cmd = f"python tools/profile_cost.py --profile {a.profile} --workers {a.workers}" + (' --final' if a.final else '') + \
          (f" --drop {' '.join(a.drop)}" if a.drop else '')
    md = [f"# Cost of a fresh run of profile `{a.profile}` (an estimate)", '',
          f"`{cmd}` on {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC: {head}.", '',
          "An estimate from per-run times (each run's own training at one thread beside another, plus its scoring), "
          "not a measurement of one uninterrupted run; `train_s`/`score_s` are run-seconds, `wall_s` the experiment's "
          "runs scheduled on the workers.", '', _md_table(df), '', *[f"- {t}" for t in totals], '']
    atomic_write(out / 'COST.md', '\n'.join(md))
    atomic_write(out / 'cost.csv', df.to_csv(index=False))
    return out / 'COST.md'


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--profile', default='cpu')
    ap.add_argument('--workers', type=int, default=2)
    ap.add_argument('--final', action='store_true', help=f"give every experiment whose profile entry says '{PENDING}' the default blr")
    ap.add_argument('--drop', nargs='*', default=[], help='leave these experiments out')
    ap.add_argument('--with-optional', action='store_true', help="count the profile's optional experiments too (a plain reproduce skips them)")
    ap.add_argument('--machine', default=None, help="measure by runs of this CPU model name (default: this machine's)")
    ap.add_argument('--root', default=str(ROOT), help='repository root (default: this checkout)')
    ap.add_argument('--out', default=None, help='also write COST.md and cost.csv to this folder (e.g. results/cpu)')
    a = ap.parse_args(argv)
    root = Path(a.root)
    from mimpaper.evidence import _job_key, arm_trunk, experiment_jobs, is_trunk_arm
    from mimpaper.reproduce import load_profile, notebook_parameters
    prof = load_profile(a.profile, root)
    machine = a.machine or cpu_name()
    meas = measured_runs(root / 'runs' / a.profile / 'pretrain', machine, prof.defaults)
    n_local = len(meas)
    comm = committed_runs(root / 'results' / a.profile, machine, set(meas.arm) if n_local else (), prof.defaults)
    parts = [m for m in (meas, comm) if not m.empty]
    if parts: meas = pd.concat(parts, ignore_index=True)
    if meas.empty: raise SystemExit(f"profile_cost: no finished one-thread run of {machine!r} in runs/{a.profile}/pretrain "
                                    f"or in the timing.csv of results/{a.profile}")
    raw = prof.path.read_text()
    blocks = dict(re.findall(r'(?ms)^  ([\w-]+):\n(.*?)(?=^  \S|\Z)', raw))   # each experiment's lines in the profile
    pending = {n for n, b in blocks.items() if PENDING in b}
    unknown = set(a.drop) - set(prof.experiments)
    if unknown: raise SystemExit(f"profile_cost: no experiment {sorted(unknown)} in profile {a.profile!r}")
    seen, rows, all_jobs, runs_dir = set(), [], [], root / 'runs' / a.profile / 'pretrain'
    optional = [n for n in prof.order if prof.experiments[n].optional and not a.with_optional and n not in a.drop]
    for name in prof.order:
        if name in a.drop or name in optional: continue
        e = prof.experiments[name]
        p = {**{k: ast.literal_eval(v) for k, v in notebook_parameters(e.notebook).items()}, **e.params}   # as the notebook sees them
        if a.final and name in pending: p['blr'] = prof.defaults['blr']
        if Path(e.notebook).stem != 'evidence_claims':
            prov = root / 'results' / a.profile / name / 'provenance.json'
            nb_s = json.loads(prov.read_text()).get('wall_time_total_s', 0.) if prov.exists() else float('nan')
            rows.append({'experiment': name, 'blr': p.get('blr', ''), 'new_runs': 0, 'train_s': 0., 'score_s': 0.,
                         'wall_s': nb_s, 'note': 'notebook only (its last recorded time)'}); continue
        jobs, train, score, srcs = [], 0., 0., set()
        for spec in experiment_jobs(p, runs_dir):                       # the jobs reproduce --workers hands to its pool
            arm, s, std, be = spec['arm'], spec['seed'], spec['std'], spec['branch_epoch']
            trunk, o = arm_trunk(arm, {**std, 'branch_epoch': be, 'seed': s})
            kind = 'trunk' if not o else 'scratch' if o.get('scratch') else 'branch'
            key = _job_key({**spec, 'protocol': None})                  # the protocol changes the scoring, not the run
            if key in seen: continue                                   # trained and scored by an earlier experiment
            seen.add(key)
            tr, sc, src = cost_of(arm, kind, trunk, meas)
            sc = sc * (2 if is_trunk_arm(arm, std, s, be) else 1)      # a trunk's random init is scored too
            needs = _job_key({**spec, 'arm': trunk, 'protocol': None}) if kind == 'branch' else None
            all_jobs.append({'key': key, 'cost': tr + sc, 'needs': needs})
            jobs.append({**all_jobs[-1], 'needs': needs if needs in [j['key'] for j in jobs] else None})   # else trained earlier
            train += tr; score += sc
            if src != 'measured': srcs.add(f'{arm} {src}')
        rows.append({'experiment': name, 'blr': p['blr'], 'new_runs': len(jobs), 'train_s': round(train), 'score_s': round(score),
                     'wall_s': round(schedule(jobs, a.workers)),
                     'note': ('no local run, estimated: ' + '; '.join(sorted(srcs))) if srcs else ''})
    df = pd.DataFrame(rows)
    df['over_60_min'] = df.wall_s > 3600
    pd.set_option('display.width', 220); pd.set_option('display.max_colwidth', 90)
    head = (f"profile {a.profile!r} on {machine}, {a.workers} one-thread workers"
            + (", every pinned experiment at the default blr" if a.final else '') + (f", without {', '.join(a.drop)}" if a.drop else '')
            + (f", without the optional {', '.join(optional)} (a plain reproduce skips them; --with-optional counts them)" if optional else '')
            + f"; measured by {n_local} local runs and {len(meas) - n_local} committed ones (timing.csv)")
    tot, nbs = df.wall_s.sum(), df.wall_s[df.new_runs == 0].sum()
    keys = {j['key'] for j in all_jobs}
    ahead = schedule([{**j, 'needs': j['needs'] if j['needs'] in keys else None} for j in all_jobs], a.workers) + nbs
    totals = [f"total: {int(df.new_runs.sum())} runs, training {df.train_s.sum():,.0f} run-s, scoring {df.score_s.sum():,.0f} run-s; "
              f"experiments over 60 min: {', '.join(df.experiment[df.over_60_min]) or 'none'}",
              f"wall, each experiment's runs in its own pool (reproduce --workers {a.workers} before the shared pool): {tot:,.0f} s = {tot / 3600:.1f} h",
              f"wall, one pool in plan order ahead of the notebooks (reproduce --workers {a.workers}): {ahead:,.0f} s = {ahead / 3600:.1f} h "
              f"(the notebooks that train nothing: {nbs:,.0f} s, counted once)"]
    print(head); print(df.to_string(index=False)); print('\n'.join(totals))
    if a.out: print(f"wrote {write_cost(Path(a.out), df, head, totals, a)}")
    return 0


if __name__ == '__main__':
    sys.exit(main())
