"""Training throughput on a small CPU: one `mimpaper pretrain` at every thread vs N side by side at one thread each, and one run in N one-thread processes (torchrun, gloo).

    .venv/bin/python tools/bench_side_by_side.py --out results/bench/cpu-amd-epyc-side-by-side

The question it answers: how should a 2-core machine train an evidence profile's runs (`mimpaper reproduce
--workers N`)? Each round runs the same short pre-training (CIFAR-10 subset, ViT-micro, the cpu profile's batch and
recipe, `train.amp=auto`, no kNN monitor) first as one process with all threads, then as N processes with one
thread each (seeds 0..N-1, started together), then as one run split over N one-thread processes (`torchrun
--nproc_per_node N`, gloo; the same global batch, each process half of it), and reads the last epoch's `img_s` from
each run's `epochs.csv` (training steps only). Rounds alternate the modes. Writes `side_by_side.csv` (one row per process and round),
`summary.json` (median totals, the ratios, the machine), `bench.md` and prints the table. Needs quiet cores: nothing else may run.
"""
import argparse, json, os, platform, shutil, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def lscpu() -> dict:
    out = subprocess.run(['lscpu'], capture_output=True, text=True).stdout
    d = dict(l.split(':', 1) for l in out.splitlines() if ':' in l)
    flags = set(d.get('Flags', '').split())
    return {'cpu': d.get('Model name', platform.processor()).strip(), 'cores': os.cpu_count(),
            'cpu_flags': sorted(flags & {'avx2', 'fma', 'avx512f', 'avx512_bf16', 'amx_bf16', 'amx_tile'})}

def start(out: Path, seed: int, threads: int, a, ddp: int = 0, extra: list[str] = ()) -> subprocess.Popen:
    "The short pre-training run in `out` (seed, threads; `ddp` > 0: under torchrun; `extra`: more `key=value` overrides)."
    env = {**os.environ, 'OMP_NUM_THREADS': str(threads), 'MKL_NUM_THREADS': str(threads)}
    bin_ = Path(sys.executable).parent
    launcher = ([str(bin_ / 'torchrun'), '--standalone', f'--nproc_per_node={ddp}', str(bin_ / 'mimpaper')] if ddp
                else [str(bin_ / 'mimpaper')])
    cmd = [*launcher, 'pretrain', '--out-dir', str(out), f'data.dataset={a.dataset}',
           f'data.n_train={a.n_train}', 'data.n_val=0', 'data.n_test=1000', f'train.epochs={a.epochs}', 'train.batch_size=256',
           f'train.seed={seed}', f'data.seed={seed}', 'eval.knn_every=0', 'model.size=micro', 'model.img_size=32', 'model.patch_size=4',
           'model.embed_dim=128', 'model.depth=6', 'model.num_heads=4', 'model.decoder_embed_dim=64', 'model.decoder_depth=2',
           'model.decoder_num_heads=4', *extra]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=open(out.with_suffix('.log'), 'w'))

def last_epoch(out: Path) -> dict:
    "The last epoch's `img_s` (all processes of the run together) and `wall_s` from the run's `epochs.csv`."
    lines = (out / 'epochs.csv').read_text().strip().splitlines()
    head, last = lines[0].split(','), lines[-1].split(',')
    return {'img_s': float(last[head.index('img_s')]), 'epoch_wall_s': float(last[head.index('wall_s')])}

def render(out: Path) -> Path:
    "`bench.md` (shown on the docs' benchmarks page) from the folder's `side_by_side.csv` and `summary.json`."
    import pandas as pd
    df, m = pd.read_csv(out / 'side_by_side.csv'), json.loads((out / 'summary.json').read_text())
    w = m['workers']
    tot = df.groupby(['round', 'mode'], sort=False).agg(processes=('processes', 'first'), threads_each=('threads_each', 'first'),
                                                        img_s=('img_s', 'sum')).reset_index()
    rows = '\n'.join(f"| {r['round']} | {r['mode']} | {r['processes']} | {r['threads_each']} | {r['img_s']:.1f} |" for _, r in tot.iterrows())
    prec = ('bf16 where `auto` chose it: this CPU has native bf16' if {'amx_bf16', 'avx512_bf16'} & set(m['cpu_flags'])
            else 'fp32: this CPU has no native bf16')
    text = f"""# Training throughput on {m['cpu']} ({m['cores']} cores): one process, {w} side by side, one run under torchrun

`{m['command']}` on {m['date'][:10]}, torch {m['torch']}, flags {', '.join(m['cpu_flags'])}. {m['config']}; `train.amp=auto`
({prec}); img/s of the last epoch's training steps, all processes together.

| round | mode | processes | threads each | img/s |
|---|---|---|---|---|
{rows}

Medians over the rounds: one process at {m['cores']} threads **{m['one_process_img_s']} img/s**; {w} runs side by side at one
thread each **{m['side_by_side_total_img_s']} img/s** together (**{m['ratio_side_by_side_over_one']:.2f}x**: what
`mimpaper reproduce --workers {w}` buys an evidence profile, whose experiments train several runs); one run split over
{w} one-thread processes (`torchrun --standalone --nproc_per_node {w}`, gloo, the same global batch)
**{m['one_run_ddp_img_s']} img/s** ({m['ratio_ddp_over_one']:.2f}x, the noisier of the two).
"""
    (out / 'bench.md').write_text(text)
    return out / 'bench.md'

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--out', required=True, help='results folder, e.g. results/bench/cpu-amd-epyc-side-by-side')
    ap.add_argument('--workers', type=int, default=2)
    ap.add_argument('--rounds', type=int, default=2)
    ap.add_argument('--n-train', type=int, default=10240)
    ap.add_argument('--epochs', type=int, default=2, help='the last epoch is measured (the first warms up)')
    ap.add_argument('--dataset', default='cifar10')
    a = ap.parse_args(argv)
    if a.workers < 2 or a.rounds < 1 or a.epochs < 2:
        sys.exit('bench_side_by_side: error: --workers >= 2, --rounds >= 1 and --epochs >= 2 are required')
    import torch
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    info = lscpu(); threads = info['cores']
    rows, tmp = [], Path(tempfile.mkdtemp(prefix='side-by-side-'))
    try:
        for r in range(a.rounds):
            for mode, procs, th, ddp in (('one process', 1, threads, 0), ('side by side', a.workers, 1, 0),
                                         (f'one run, ddp x{a.workers}', 1, 1, a.workers)):
                t = time.time()
                ps = [(s, tmp / f'r{r}-{mode[:8]}-{procs}-{s}'.replace(' ', '_'), None) for s in range(procs)]
                ps = [(s, d, start(d, s, th, a, ddp)) for s, d, _ in ps]
                for s, d, p in ps:
                    if p.wait() != 0: sys.exit(f"bench_side_by_side: error: a run failed, see {d.with_suffix('.log')}")
                for s, d, _ in ps:
                    rows.append({'round': r, 'mode': mode, 'processes': ddp or procs, 'threads_each': th, 'seed': s, **last_epoch(d)})
                print(f"round {r}, {mode}: " + ', '.join(f"{x['img_s']:.1f}" for x in rows[-procs:]) + f" img/s ({time.time() - t:.0f} s)", flush=True)
    finally: shutil.rmtree(tmp, ignore_errors=True)
    import pandas as pd
    df = pd.DataFrame(rows)
    tot = df.groupby(['round', 'mode']).img_s.sum().unstack()
    one, side, ddp = (float(tot[m].median()) for m in ('one process', 'side by side', f'one run, ddp x{a.workers}'))
    summary = {**info, 'torch': torch.__version__, 'date': time.strftime('%Y-%m-%dT%H:%M:%S%z'), 'command': ' '.join(sys.argv),
               'config': f'ViT-micro 128x6, decoder 64x2, patch 4, batch 256, {a.dataset} n_train {a.n_train}, epoch {a.epochs} of {a.epochs}',
               'one_process_img_s': round(one, 1), 'side_by_side_total_img_s': round(side, 1), 'workers': a.workers,
               'ratio_side_by_side_over_one': round(side / one, 3),
               'one_run_ddp_img_s': round(ddp, 1), 'ratio_ddp_over_one': round(ddp / one, 3), 'per_round_totals': tot.round(1).to_dict('index')}
    df.to_csv(out / 'side_by_side.csv', index=False)
    (out / 'summary.json').write_text(json.dumps(summary, indent=1) + '\n')
    render(out)
    print(df.to_string(index=False))
    print(f"{info['cpu']} ({threads} cores): one process at {threads} threads {one:.1f} img/s; {a.workers} side by side at 1 thread "
          f"{side:.1f} img/s together: {side / one:.2f}x; one run in {a.workers} one-thread processes (ddp) {ddp:.1f} img/s: {ddp / one:.2f}x")
    return 0

if __name__ == '__main__':
    sys.exit(main())
