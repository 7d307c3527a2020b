"""GPU check of issue #16 on one CUDA GPU (sized for an H200): `make gpu-check`.

Expected device time: about 9 minutes of one H200, never more than 10 (each step runs under its own timeout):
  1. bench (<= 240 s): `mimpaper bench --sizes base --modes eager,compiled --only mae,hf-vitmae` -- MAE ViT-B/16 at 224
     img/s and MFU against the measured bf16 matmul peak, Hugging Face ViTMAE eager and compiled, in the same run;
  2. notebooks (<= 120 s): `nbdev_test --flags "gpu slow"` over the notebooks that have `#| gpu` / `#| slow` cells;
  3. CUDA tests (<= 60 s): `pytest tests -k cuda`;
  4. compare (<= 150 s, `--compare-s`): MAE vs SBAM vs MTO vs SG-MAE pre-training of a tiny ViT (ViT-Ti, 4px patches) on
     GPU-resident CIFAR-10, each for the same number of epochs: as many as the budget fits, from a timed MAE epoch;
     final loss, kNN top-1, img/s and wall time per method.
Writes `summary.json` and `summary.md` under `--out` (default results/gpu-check), with the bench's own files in
`bench/`. Without CUDA it prints one line and exits with 2. Exit 1 when a step failed or timed out.
"""
from __future__ import annotations
import argparse, json, math, os, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
BUDGET_S = {'bench': 240, 'notebooks': 120, 'cuda_tests': 60, 'compare': 150}
METHODS = {                                  # the papers' methods as run configs (experiment_config keyword arguments)
    'mae': {},
    'sbam': {'masker': {'name': 'sbam'}},
    'mto': {'loss_terms': [{'name': 'recon'}, {'name': 'mto'}]},
    'sg-mae': {'masker': {'name': 'informed', 'start': 0}},   # informed from the first step (short runs; as the bench's sg-mae row)
}


def _run(name: str, cmd: list[str], timeout: int, log: Path) -> dict:
    "Run `cmd` from the repository root under `timeout` seconds; its output goes to `log`."
    t = time.time()
    with log.open('w') as f:
        try: rc = subprocess.run(cmd, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT, timeout=timeout).returncode
        except subprocess.TimeoutExpired: rc = 'timeout'
    tail = log.read_text(errors='replace').strip().splitlines()[-3:]
    r = {'step': name, 'rc': rc, 'ok': rc == 0, 'wall_s': round(time.time() - t, 1), 'budget_s': timeout, 'log': log.name,
         'cmd': ' '.join(cmd), 'tail': tail}
    print(f"gpu_check: {name}: {'ok' if r['ok'] else f'FAILED ({rc})'} in {r['wall_s']} s", flush=True)
    return r


def flagged_notebooks() -> list[Path]:
    "Notebooks with a `#| gpu` or `#| slow` cell."
    nbs = sorted((ROOT / 'nbs').glob('*.ipynb')) + sorted((ROOT / 'nbs' / 'tests').glob('*.ipynb'))
    return [p for p in nbs if '#| gpu' in p.read_text() or '#| slow' in p.read_text()]


def compare(out: Path, budget_s: float, batch_size: int = 512) -> list[dict]:
    "MAE / SBAM / MTO / SG-MAE on GPU-resident CIFAR-10, a tiny ViT, the same epoch count for each (fits `budget_s`)."
    import torch
    from mimpaper.runs import build_data, experiment_config, run_pretrain
    kw = dict(size='tiny', img_size=32, patch_size=4, dataset='cifar10', n_train=None, n_test=10000, batch_size=batch_size,
              blr=1.5e-4, device='cuda', train={'progress': False, 'ckpt_every': 0})
    t = time.time()
    data = build_data(experiment_config(**kw, epochs=1), torch.device('cuda'))       # decoded once, on the GPU
    load_s = time.time() - t
    t = time.time()
    run_pretrain(experiment_config(**kw, epochs=1, warmup_epochs=0), data=data)     # one timed MAE epoch (and warm-up)
    epoch_s = time.time() - t
    left = budget_s - load_s - epoch_s
    epochs = max(1, min(100, int(left / (len(METHODS) * 1.5 * epoch_s))))          # 1.5: add-ons' overhead and kNN margin
    rows = []
    for name, spec in METHODS.items():
        t = time.time()
        cfg = experiment_config(**kw, epochs=epochs, warmup_epochs=min(1., epochs / 4), knn_every=epochs, **spec)
        h = run_pretrain(cfg, data=data)['history']
        rows.append({'method': name, 'epochs': epochs, 'loss': h[-1].get('loss'), 'knn_top1': h[-1].get('knn_top1'),
                     'img_s': h[-1].get('img_s'), 'wall_s': round(time.time() - t, 1)})
        print(f"gpu_check: compare {name}: {rows[-1]}", flush=True)
    (out / 'compare.json').write_text(json.dumps({'epochs': epochs, 'epoch_s_mae': epoch_s, 'load_s': load_s,
                                                  'budget_s': budget_s, 'rows': rows}, indent=1, default=float))
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog='gpu_check', description=__doc__.splitlines()[0])
    p.add_argument('--out', default=str(ROOT / 'results' / 'gpu-check'))
    p.add_argument('--compare-s', type=float, default=BUDGET_S['compare'], help='seconds for the method comparison')
    p.add_argument('--skip', default='', help='comma list of steps to skip: bench,notebooks,cuda_tests,compare')
    p.add_argument('--compare-only', action='store_true', help=argparse.SUPPRESS)   # the compare step's own process
    a = p.parse_args(argv)
    import torch
    if not torch.cuda.is_available():
        print('gpu_check: no CUDA device here: this check needs one GPU (sized for an H200); nothing was run', file=sys.stderr)
        return 2
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    tar = ROOT / 'shared' / 'data' / 'cifar10-jpg.tar.gz'            # the device machine's copy of shared/, if any
    if 'MIMPAPER_CIFAR10_TAR' not in os.environ and tar.is_file(): os.environ['MIMPAPER_CIFAR10_TAR'] = str(tar)
    if a.compare_only: compare(out, a.compare_s); return 0
    skip, steps, t0 = set(filter(None, a.skip.split(','))), [], time.time()
    if 'bench' not in skip:
        steps.append(_run('bench', [str(BIN / 'mimpaper'), 'bench', '--device', 'cuda', '--sizes', 'base', '--modes', 'eager,compiled',
                                    '--only', 'mae,hf-vitmae', '--steps', '30', '--warmup', '10', '--out', str(out / 'bench')],
                          BUDGET_S['bench'], out / 'bench.log'))
    if 'notebooks' not in skip:
        nbs = flagged_notebooks()
        script = '; '.join(f'{BIN / "nbdev_test"} --flags "gpu slow" --path {p.relative_to(ROOT)} || rc=1' for p in nbs)
        steps.append(_run('notebooks', ['bash', '-c', f'rc=0; {script}; exit $rc'], BUDGET_S['notebooks'], out / 'notebooks.log'))
    if 'cuda_tests' not in skip:
        steps.append(_run('cuda_tests', [sys.executable, '-m', 'pytest', 'tests', '-k', 'cuda', '-q', '-p', 'no:cacheprovider'],
                          BUDGET_S['cuda_tests'], out / 'cuda_tests.log'))
    if 'compare' not in skip:
        steps.append(_run('compare', [sys.executable, __file__, '--compare-only', '--out', str(out), '--compare-s', str(a.compare_s)],
                          int(a.compare_s + 30), out / 'compare.log'))
    summary = {'gpu': torch.cuda.get_device_name(0), 'torch': torch.__version__, 'wall_s': round(time.time() - t0, 1),
               'steps': steps}
    if (out / 'bench' / 'bench.csv').is_file():
        import pandas as pd
        df = pd.read_csv(out / 'bench' / 'bench.csv')
        summary['bench'] = df[['config', 'name', 'mode', 'precision', 'status', 'img_s', 'mfu', 'time_vs_mae']].to_dict('records')
    if (out / 'compare.json').is_file(): summary['compare'] = json.loads((out / 'compare.json').read_text())
    (out / 'summary.json').write_text(json.dumps(summary, indent=1, default=str))
    md = [f"# GPU check ({summary['gpu']}, torch {summary['torch']}, {summary['wall_s']} s)", '',
          '| step | ok | s | budget s |', '|---|---|---|---|'] + \
         [f"| {s['step']} | {'yes' if s['ok'] else 'NO (' + str(s['rc']) + ')'} | {s['wall_s']} | {s['budget_s']} |" for s in steps]
    for r in summary.get('bench', []):
        mfu = r['mfu'] if isinstance(r['mfu'], float) and math.isfinite(r['mfu']) else None
        md.append(f"- bench {r['name']} {r['mode']}: {r['status']}" + (f", {r['img_s']:.0f} img/s, MFU "
                  + ('-' if mfu is None else f'{100 * mfu:.1f}%') + f", time vs MAE {r['time_vs_mae']:.2f}x" if r['status'] == 'ok' else ''))
    for r in summary.get('compare', {}).get('rows', []):
        md.append(f"- compare {r['method']}: {r['epochs']} epochs, loss {r['loss']}, kNN {r['knn_top1']}, {r['wall_s']} s")
    (out / 'summary.md').write_text('\n'.join(md) + '\n')
    print('\n'.join(md))
    return 0 if all(s['ok'] for s in steps) else 1


if __name__ == '__main__':
    sys.exit(main())
