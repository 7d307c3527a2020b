"""The evidence protocol's scores of the same trained encoders with fp32 features and with bf16 features.

    python tools/features_precision_check.py [--runs runs/cpu/pretrain] [--glob 'mae-s0-*' ...] [--out results/cpu/features_precision/features_precision.json]

For every finished run folder (a `DONE` marker) under `--runs` whose name matches one of `--glob`: `evidence.evaluate_encoder` twice on the run's own
data split (kNN and linear probe, 45k train -> 10k test on the cpu profile), once with `features='fp32'` (the
protocol of every committed result) and once with `features='auto'` (bf16 features on a CPU with native bf16 matmul), with
the wall time of each. Writes one row per run, the largest absolute differences and the speed-up. The test split is
only scored, as in every evaluation; nothing is tuned on it.
"""
import argparse, json, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--runs', default=str(ROOT / 'runs/cpu/pretrain'))
    ap.add_argument('--out', default=str(ROOT / 'results/cpu/features_precision/features_precision.json'))
    ap.add_argument('--glob', nargs='+', default=['*'], help='run folder name patterns')
    ap.add_argument('--limit', type=int, default=None, help='at most this many runs (in name order)')
    a = ap.parse_args(argv)
    import torch
    from mimpaper.core import ConfigError, atomic_json, cpu_info, default_device, git_info
    from mimpaper.evaluation import features_precision
    from mimpaper.evidence import evaluate_encoder
    from mimpaper.runs import build_data, load_run, read_yaml
    runs = sorted({p for g in a.glob for p in Path(a.runs).glob(g) if p.is_dir() and (p / 'DONE').exists() and (p / 'config.yaml').exists()})[:a.limit]
    if not runs: raise ConfigError(f"no finished run folders (with DONE) under {a.runs}")
    dev = default_device('auto')
    if features_precision(dev, 'auto') != 'bf16':
        raise ConfigError(f"this {dev} has no native bf16 matmul: 'auto' features are fp32 here, nothing to compare")
    rows, datas = [], {}
    for r in runs:
        cfg = read_yaml(r / 'config.yaml', 'run config')
        key = json.dumps(cfg['data'], sort_keys=True)
        if key not in datas: datas = {key: build_data(cfg, dev)}               # one split in memory at a time
        model = load_run(r)[0].to(dev)
        ev = {f: evaluate_encoder(model, datas[key], {'features': f}) for f in ('fp32', 'auto')}
        row = {'run': r.name}
        for m in ('knn_top1', 'probe_top1', 'knn_top1_cls', 'probe_top1_cls'):
            row[f'{m}_fp32'], row[f'{m}_bf16'] = round(ev['fp32'][m], 2), round(ev['auto'][m], 2)
            row[f'{m}_diff'] = round(ev['auto'][m] - ev['fp32'][m], 2)
        row.update(eval_s_fp32=ev['fp32']['eval_s'], eval_s_bf16=ev['auto']['eval_s'])
        rows.append(row); print(json.dumps(row), flush=True)
    diffs = {m: max(abs(x[f'{m}_diff']) for x in rows) for m in ('knn_top1', 'probe_top1', 'knn_top1_cls', 'probe_top1_cls')}
    mean_d = {m: round(sum(x[f'{m}_diff'] for x in rows) / len(rows), 3) for m in ('knn_top1', 'probe_top1')}
    out = {'what': next(x for x in __doc__.split('\n\n') if x.startswith('For every')).replace('\n', ' ').strip(),
           'command': 'python tools/features_precision_check.py ' + ' '.join(sys.argv[1:] if argv is None else argv),
           'machine': cpu_info()['model'], 'cpu_flags': cpu_info()['flags'], 'threads': torch.get_num_threads(),
           'torch': torch.__version__, **git_info(), 'n_runs': len(rows),
           'max_abs_diff': diffs, 'mean_diff': mean_d,
           'eval_s_fp32': round(sum(x['eval_s_fp32'] for x in rows), 1), 'eval_s_bf16': round(sum(x['eval_s_bf16'] for x in rows), 1),
           'rows': rows}
    t32, t16 = out['eval_s_fp32'], out['eval_s_bf16']
    out['speedup'] = round(t32 / t16, 2) if t16 > 0 and t32 > 0 else None   # None: too fast to time (a toy run: 0.0 s at 0.1-s resolution)
    atomic_json(Path(a.out), out)
    print(f"{len(rows)} runs: max |bf16 - fp32| kNN {diffs['knn_top1']:.2f}, probe {diffs['probe_top1']:.2f} points; "
          + (f"evaluation {out['speedup']}x faster with bf16 features" if out['speedup'] else 'evaluation too fast to time') + f" -> {a.out}")


if __name__ == '__main__':
    from mimpaper.core import ConfigError, DataError
    try: sys.exit(main())
    except (ConfigError, DataError) as e: sys.exit(f"features_precision_check: error: {e}")
