"""A training-recipe change of the cpu profile's MAE baseline, scored on the VALIDATION split (45k train -> 5k val).

    python tools/recipe_val_check.py --set batch_size=128 --seed 0

Trains the seed's MAE trunk with the profile's defaults updated by `--set KEY=VALUE` (YAML values) into
`runs/PROFILE-recipe/pretrain/` (the profile's own runs are not touched), then scores it and the profile's own MAE run
of the same seed (`runs/PROFILE/pretrain/`, trained if missing) with the evidence protocol's kNN and linear probe on
mean-pooled features, train split -> val split. The test split is never read, so a recipe can be chosen by it
(the quality gate itself is judged on the test split). Writes `results/PROFILE/recipe_val/NAME-sSEED.json` and
`NAME.json`, the paired difference over every seed checked so far with its 95% t interval.
"""
import argparse, json, sys, time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'tools'))
from train_arms import STD_NAMES                              # the evidence notebooks' standard parameters


def parse_set(items: list[str]) -> dict:
    "`['batch_size=128', ...]` -> `{'batch_size': 128}` (values read as YAML); only the profile's standard keys."
    from mimpaper.core import ConfigError
    out = {}
    for it in items:
        k, sep, v = it.partition('=')
        if not sep or k not in STD_NAMES: raise ConfigError(f"--set wants KEY=VALUE with KEY one of {', '.join(STD_NAMES)}, got {it!r}")
        x = yaml.safe_load(v)
        if isinstance(x, str):                                          # YAML 1.1 reads 3e-3 as a string
            try: x = float(x)
            except ValueError: pass
        out[k] = x
    return out


def val_scores(model, data: dict, protocol: dict) -> dict:
    "`evidence.evaluate_encoder` (kNN and linear probe on mean-pooled features) with the val split in place of the test split."
    from mimpaper.evidence import evaluate_encoder
    ev = evaluate_encoder(model, {'train': data['train'], 'test': data['val']}, {**protocol, 'pools': ('mean',)})
    return {'knn_val': round(ev['knn_top1'], 2), 'probe_val': round(ev['probe_top1'], 2), 'n_val': ev['n_test'], 'eval_s': ev['eval_s']}


def train_cost(run_dir: Path) -> dict:
    "Training seconds (`epochs.csv`) and the torch threads and precision it ran with (`runtime.json`): timings compare only at equal threads."
    import pandas as pd
    run_dir = Path(run_dir)
    e = pd.read_csv(run_dir / 'epochs.csv') if (run_dir / 'epochs.csv').is_file() else None
    rt = json.loads((run_dir / 'runtime.json').read_text()) if (run_dir / 'runtime.json').is_file() else {}
    return {'train_s': round(float(e['wall_s'].sum()), 1) if e is not None and 'wall_s' in e else None,
            'torch_threads': rt.get('torch_threads'), 'precision': f"{rt.get('amp_dtype')}/{rt.get('attention')}" if rt else None}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--profile', default='cpu')
    ap.add_argument('--set', nargs='+', required=True, metavar='KEY=VALUE', help='recipe changes, e.g. batch_size=128')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--name', default=None, help='result name (default: the changes, e.g. batch_size-128)')
    ap.add_argument('--root', default=str(ROOT), help='repository root (profiles, runs/ and results/ under it)')
    a = ap.parse_args(argv)
    root = Path(a.root).resolve()
    import torch
    from mimpaper.core import ConfigError, cpu_info, default_device
    from mimpaper.evidence import PROTOCOL, run_arm
    from mimpaper.runs import build_data, experiment_config
    pf = root / 'nbs/experiments/profiles' / f'{a.profile}.yaml'
    if not pf.is_file(): raise ConfigError(f"no profile {a.profile!r} ({pf} is missing)")
    prof = yaml.safe_load(pf.read_text())
    d = prof['defaults']
    change = parse_set(a.set)
    if 'n_val' in change or not d.get('n_val'): raise ConfigError("the check needs the profile's val split (n_val > 0) and keeps it as is")
    name = a.name or '_'.join(f'{k}-{v}' for k, v in change.items())
    base = {k: d[k] for k in STD_NAMES if k in d}
    recipe = {**base, **change}
    out = {'what': f'MAE seed {a.seed}: the {a.profile} profile recipe vs the same with {change}, scored train -> val '
                   '(the test split is not read)', 'change': change, 'seed': a.seed, 'protocol': 'evidence.PROTOCOL, mean pool',
           'machine': cpu_info()['model'], 'cpu_flags': cpu_info()['flags'], 'threads': torch.get_num_threads(), 'rows': []}
    for label, std, runs_dir in (('profile', base, root / 'runs' / a.profile / 'pretrain'),
                                 ('recipe', recipe, root / 'runs' / f'{a.profile}-recipe' / 'pretrain')):
        data = build_data(experiment_config(**std), default_device(std.get('device', 'auto')))
        t = time.time()
        run = run_arm('mae', std, a.seed, d['branch_epoch'], runs_dir, data=data, monitor_bank=d.get('monitor_bank'))
        row = {'label': label, 'run_dir': str(Path(run['run_dir']).relative_to(root)), 'cached': run['cached'],
               **train_cost(run['run_dir']), **val_scores(run['model'], data, PROTOCOL)}
        out['rows'].append(row)
        print(row, f'({time.time() - t:.0f} s)', flush=True)
    r = {x['label']: x for x in out['rows']}
    out['diff'] = {k: round(r['recipe'][k] - r['profile'][k], 2) for k in ('knn_val', 'probe_val')}
    f = root / 'results' / a.profile / 'recipe_val' / f'{name}-s{a.seed}.json'
    f.parent.mkdir(parents=True, exist_ok=True)
    f.write_text(json.dumps(out, indent=1) + '\n')
    summary = summarize(f.parent, name)
    print(json.dumps(out['diff']), '->', f.relative_to(root), '| over seeds', summary['seeds'], json.dumps(summary['effect']))


def summarize(folder: Path, name: str) -> dict:
    "`folder/NAME.json`: recipe - profile over every seed's `NAME-sS.json`, mean paired difference with its 95% t interval."
    from mimpaper.claims import paired_interval
    runs = sorted((json.loads(p.read_text()) for p in folder.glob(f'{name}-s*.json')), key=lambda r: r['seed'])
    nan_none = lambda x: None if x != x else round(x, 2)
    effect = {}
    for k in ('knn_val', 'probe_val'):
        m, lo, hi = paired_interval([r['diff'][k] for r in runs])
        effect[k] = {'mean': nan_none(m), 'ci_low': nan_none(lo), 'ci_high': nan_none(hi)}
    out = {'what': f'recipe - profile on the val split, paired by seed (95% t interval; none with one seed): {name}',
           'change': runs[0]['change'], 'seeds': [r['seed'] for r in runs], 'n_seeds': len(runs),
           'per_seed': {str(r['seed']): r['diff'] for r in runs}, 'effect': effect}
    (folder / f'{name}.json').write_text(json.dumps(out, indent=1) + '\n')
    return out


if __name__ == '__main__':
    from mimpaper.core import ConfigError, DataError
    from mimpaper.train import Interrupted
    try: sys.exit(main())
    except (ConfigError, DataError) as e: sys.exit(f"recipe_val_check: error: {e}")
    except Interrupted as e: sys.exit(f"recipe_val_check: {e}")
