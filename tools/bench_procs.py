"""Our MAE against Hugging Face ViTMAE with every core busy: N one-thread `mimpaper bench` processes started together.

    .venv/bin/python tools/bench_procs.py --rounds 3 --out results/bench/cpu-xeon-amx-1thread-x2 -- \\
        --device cpu --sizes tiny --steps 6 --warmup 2 --batch 256 --only mae,hf-vitmae \\
        --precisions bf16-explicit,bf16-stream,bf16 --hf-attn eager

The question it answers: which implementation trains faster where the evidence profiles train (`mimpaper reproduce
--workers 2`: one-thread processes side by side)? `mimpaper bench` times one process; here each round starts N
identical bench processes at once (`--threads 1 --rounds 1` and the arguments after `--`), whose rows run in the same
order, so each row is timed beside its twins. A row's machine img/s is the sum over the processes; `vs HF best` divides
it by the best Hugging Face row of the same config and round. Writes `procs.csv` (one row per round, process and bench
row), `summary.csv` (per row: the median machine img/s over rounds and the median, min and max of the ratio),
`provenance.json` (the machine, the command) and `bench.md`. Needs quiet cores: nothing else may run.
"""
import argparse, json, os, shutil, subprocess, sys, tempfile, time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_side_by_side import lscpu               # the same machine record

KEYS = ['config', 'name', 'precision', 'attention']

def start(out: Path, args: list[str]) -> subprocess.Popen:
    "One one-thread bench process writing to `out`."
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'MKL_NUM_THREADS': '1'}
    cmd = [str(Path(sys.executable).parent / 'mimpaper'), 'bench', *args, '--threads', '1', '--rounds', '1', '--out', str(out)]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=open(out.with_suffix('.log'), 'w'))

def machine(df):
    "Per round and bench row: img/s summed over the processes, and its ratio to the round's best Hugging Face row of that config."
    m = df[df.status == 'ok'].groupby(['round', *KEYS], sort=False).img_s.sum().reset_index()
    hf = m[m.name.str.startswith('hf')].groupby(['round', 'config']).img_s.max().rename('hf_best')
    m = m.join(hf, on=['round', 'config'])
    m['vs_hf_best'] = m.img_s / m.hf_best
    return m

def summarize(m):
    "Per bench row over the rounds: median machine img/s, median / min / max of `vs_hf_best`."
    g = m.groupby(KEYS, sort=False)
    return g.agg(img_s=('img_s', 'median'), vs_hf_best=('vs_hf_best', 'median'), vs_hf_min=('vs_hf_best', 'min'),
                 vs_hf_max=('vs_hf_best', 'max'), rounds=('round', 'nunique')).reset_index()

def render(out: Path) -> Path:
    "`bench.md` from the folder's `summary.csv` and `provenance.json` (ratios to 3 decimals: none rounds across a target)."
    import pandas as pd
    s, prov = pd.read_csv(out / 'summary.csv'), json.loads((out / 'provenance.json').read_text())
    rows = '\n'.join(f"| {r.config} | {r['name']} | {r.precision} | {r.attention} | {r.img_s:,.0f} | {r.vs_hf_best:.3f}x | "
                     f"{r.vs_hf_min:.3f}x-{r.vs_hf_max:.3f}x |" for _, r in s.iterrows())
    (out / 'bench.md').write_text(f"""# Ours and Hugging Face ViTMAE, {prov['procs']} one-thread processes at once ({prov['cpu']})

`{prov['command']}` on {prov['date'][:10]}, torch {prov['torch']}, flags {', '.join(prov['cpu_flags'])}. How `mimpaper
reproduce --workers {prov['procs']}` trains: every core busy, one thread each. Each of {prov['rounds']} round(s) starts
{prov['procs']} identical `mimpaper bench --threads 1 --rounds 1` processes together; their rows run in the same order,
so each row is timed beside its twins. `machine img/s`: the processes' img/s summed, median over the rounds; `vs HF
best`: over the best Hugging Face row of the same config and round, median (and range) over the rounds.

| config | row | prec | attn | machine img/s | vs HF best | range |
|---|---|---|---|---|---|---|
{rows}

Per process and round: `procs.csv`; per row: `summary.csv`.
""")
    return out / 'bench.md'

def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    own, bench = (argv[:argv.index('--')], argv[argv.index('--') + 1:]) if '--' in argv else (argv, [])
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--out', required=True, help='results folder, e.g. results/bench/cpu-xeon-amx-1thread-x2')
    ap.add_argument('--procs', type=int, default=2, help='processes started together (one per core)')
    ap.add_argument('--rounds', type=int, default=3)
    a = ap.parse_args(own)
    if a.procs < 2 or a.rounds < 1: sys.exit('bench_procs: error: --procs >= 2 and --rounds >= 1 are required')
    for k in ('--threads', '--rounds', '--out'):
        if k in bench: sys.exit(f'bench_procs: error: {k} is set by bench_procs; pass the other bench arguments after --')
    import pandas as pd, torch
    out, info, frames = Path(a.out), lscpu(), []
    tmp = Path(tempfile.mkdtemp(prefix='procs-'))
    try:
        for r in range(a.rounds):
            t = time.time()
            ps = [(k, tmp / f'r{r}-p{k}') for k in range(a.procs)]
            ps = [(k, d, start(d, bench)) for k, d in ps]
            for k, d, p in ps:
                if p.wait() != 0:
                    tail = d.with_suffix('.log').read_text().strip().splitlines()[-1:] or ['']
                    sys.exit(f"bench_procs: error: bench process {k} of round {r} failed: {tail[0]}")
            frames += [pd.read_csv(d / 'bench.csv').assign(round=r, proc=k) for k, d, _ in ps]
            print(f"round {r}: {a.procs} processes in {time.time() - t:.0f} s", flush=True)
    finally: shutil.rmtree(tmp, ignore_errors=True)
    df = pd.concat(frames, ignore_index=True)
    m = machine(df)
    s = summarize(m)
    out.mkdir(parents=True, exist_ok=True)
    df[['round', 'proc', *KEYS, 'status', 'img_s', 'step_ms_median']].to_csv(out / 'procs.csv', index=False)
    s.round(3).to_csv(out / 'summary.csv', index=False)
    prov = {**info, 'torch': torch.__version__, 'date': time.strftime('%Y-%m-%dT%H:%M:%S%z'),
            'command': ' '.join(['tools/bench_procs.py', *argv]), 'procs': a.procs, 'rounds': a.rounds}
    (out / 'provenance.json').write_text(json.dumps(prov, indent=1) + '\n')
    render(out)
    print(s.round(3).to_string(index=False))
    print(f"wrote {out / 'bench.md'}")
    return 0

if __name__ == '__main__':
    sys.exit(main())
