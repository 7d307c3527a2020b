"""Do the verdicts change when the evidence protocol scores on bf16 features? Rescoring of finished experiments.

    python tools/features_verdict_check.py --experiments claims_sg_hint claims_sbam_random [--profile cpu] [--workers 2]

For each named `evidence_claims` experiment of the profile, whose runs are all in `runs/PROFILE/pretrain/`: the
experiment notebook again with its own parameters plus `eval_features='auto'` (bf16 features where the CPU has native
bf16 matmul), written to `runs/PROFILE/features_auto/EXPERIMENT/` (nothing is trained: every run is loaded; only the
scores are new, cached beside the fp32 ones). Then each claim row of that rescoring is set beside the committed row
(`results/PROFILE/EXPERIMENT/claims.csv`, fp32 features): effects, intervals, verdicts, and whether the verdict is the
same. Writes `results/PROFILE/features_precision/verdicts.csv` and `verdicts.json` (machine, command, wall time).
"""
import argparse, json, os, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KEYS = ['paper', 'artifact', 'claim', 'metric', 'baseline', 'method']


def compare(fp32, bf16):
    "Committed claim rows (fp32 features) beside the rescored ones (bf16 features), joined on the claim and metric."
    import pandas as pd
    cols = ['n_seeds', 'effect', 'ci_low', 'ci_high', 'verdict']
    m = fp32[KEYS + cols].merge(bf16[KEYS + cols], on=KEYS, suffixes=('_fp32', '_bf16'), how='outer', indicator=True)
    if (m._merge != 'both').any():
        raise ValueError(f"claim rows differ between the two scorings: {m[m._merge != 'both'][KEYS].to_dict('records')}")
    m = m.drop(columns='_merge')
    m['effect_diff'] = (m.effect_bf16 - m.effect_fp32).round(4)
    m['same_verdict'] = m.verdict_fp32 == m.verdict_bf16
    return m


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--experiments', nargs='+', required=True)
    ap.add_argument('--profile', default='cpu')
    ap.add_argument('--workers', type=int, default=2)
    ap.add_argument('--root', default=str(ROOT), help='repository root (default: this checkout)')
    a = ap.parse_args(argv)
    root = Path(a.root)
    import pandas as pd
    import torch
    from mimpaper.core import ConfigError, atomic_json, cpu_info, git_info
    from mimpaper.evaluation import features_precision
    from mimpaper.reproduce import experiment_params, load_profile, run_notebook
    prof = load_profile(a.profile, root)
    for e in a.experiments:
        if e not in prof.experiments: raise ConfigError(f"profile {a.profile!r} has no experiment {e!r}")
        if Path(prof.experiments[e].notebook).stem != 'evidence_claims':
            raise ConfigError(f"{e} is not an evidence_claims experiment (its notebook: {prof.experiments[e].notebook})")
        if not (root / 'results' / a.profile / e / 'claims.csv').exists():
            raise ConfigError(f"{e} has no committed results/{a.profile}/{e}/claims.csv to compare with")
    if prof.amp is not None:        # the same training precision as the committed runs, or they would be trained anew
        raise ConfigError(f"profile {a.profile!r} pins amp={prof.amp}: rescore a profile whose runs used train.amp='auto'")
    precision = features_precision('cpu', 'auto')
    if precision != 'bf16': raise ConfigError("this CPU has no native bf16 matmul: 'auto' features are fp32 here, nothing to compare")
    workers_before, parts, walls = os.environ.get('MIMPAPER_WORKERS'), [], {}
    os.environ['MIMPAPER_WORKERS'] = str(a.workers)                   # the notebook's kernel scores in this many processes
    try:
        for e in a.experiments:
            out = root / 'runs' / a.profile / 'features_auto' / e
            params = {**experiment_params(prof, e), 'eval_features': 'auto', 'out_dir': str(out.relative_to(root))}
            t = time.time()
            run_notebook(prof.experiments[e].notebook, params, out_path=out / f'{e}.ipynb', root=root)
            walls[e] = round(time.time() - t, 1)
            m = compare(pd.read_csv(root / 'results' / a.profile / e / 'claims.csv'), pd.read_csv(out / 'claims.csv'))
            parts.append(m.assign(experiment=e))
            print(f"{e}: {int(m.same_verdict.sum())}/{len(m)} verdicts the same, max |effect diff| "
                  f"{m.effect_diff.abs().max():.2f} points ({walls[e]:.0f} s)", flush=True)
    finally:
        if workers_before is None: os.environ.pop('MIMPAPER_WORKERS', None)
        else: os.environ['MIMPAPER_WORKERS'] = workers_before
    res = root / 'results' / a.profile / 'features_precision'; res.mkdir(parents=True, exist_ok=True)
    old = pd.read_csv(res / 'verdicts.csv') if (res / 'verdicts.csv').exists() else None      # other experiments' earlier rows stay
    prov = json.loads((res / 'verdicts.json').read_text()) if (res / 'verdicts.json').exists() else {}
    if old is not None: parts.insert(0, old[~old.experiment.isin(a.experiments)])
    df = pd.concat(parts, ignore_index=True)
    df.to_csv(res / 'verdicts.csv', index=False)
    cmd = 'python tools/features_verdict_check.py ' + ' '.join(sys.argv[1:] if argv is None else argv)
    atomic_json(res / 'verdicts.json', {
        'what': __doc__.split('\n\n')[2].replace('\n', ' ').strip(),
        'commands': [c for c in prov.get('commands', []) if c != cmd] + [cmd],
        'machine': cpu_info()['model'], 'cpu_flags': cpu_info()['flags'], 'torch': torch.__version__, **git_info(),
        'workers': a.workers, 'wall_s': {**prov.get('wall_s', {}), **walls}, 'n_rows': len(df), 'same_verdict': int(df.same_verdict.sum()),
        'max_abs_effect_diff': float(df.effect_diff.abs().max()),
        'changed': df[~df.same_verdict][KEYS + ['verdict_fp32', 'verdict_bf16']].to_dict('records')})
    print(f"{int(df.same_verdict.sum())}/{len(df)} verdicts the same with bf16 features -> {res / 'verdicts.csv'}")


if __name__ == '__main__':
    from mimpaper.core import ConfigError, DataError
    try: sys.exit(main())
    except (ConfigError, DataError, ValueError) as e: sys.exit(f"features_verdict_check: error: {e}")
