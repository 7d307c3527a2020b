"""A/B training throughput: two one-thread `mimpaper pretrain` runs side by side, the same seed, one setting apart.

    .venv/bin/python tools/bench_ab.py --a train.residual=fp32 --b train.residual=bf16 --out results/bench/cpu-xeon-amx-stream-ab

The question it answers: what does a training option buy where the evidence profiles train (`mimpaper reproduce
--workers 2`: one-thread processes side by side)? Timing A and B at different hours of a shared machine mixes the
option with the machine's drift; run together, both see the same load. Each round starts A and B at once (the same
short pre-training as `tools/bench_side_by_side.py`: CIFAR-10 subset, ViT-micro, batch 256, `train.amp=auto`, no kNN
monitor) and reads every epoch's `img_s` after the first (warm-up) from each run's `epochs.csv`. Writes `ab.csv` (one
row per round, side and epoch), `summary.json` (the medians, B over A per round, the machine) and `bench.md`.
Needs quiet cores: nothing else may run.
"""
import argparse, json, shutil, sys, tempfile, time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_side_by_side import lscpu, start        # the same pre-training command and machine record

def epochs(out: Path) -> list[dict]:
    "Every epoch after the first: `{'epoch', 'img_s', 'wall_s'}` from the run's `epochs.csv`."
    import pandas as pd
    return pd.read_csv(out / 'epochs.csv')[['epoch', 'img_s', 'wall_s']].iloc[1:].to_dict('records')

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--a', required=True, nargs='+', help='overrides of side A, e.g. train.residual=fp32')
    ap.add_argument('--b', required=True, nargs='+', help='overrides of side B, e.g. train.residual=bf16')
    ap.add_argument('--out', required=True, help='results folder')
    ap.add_argument('--rounds', type=int, default=2)
    ap.add_argument('--n-train', type=int, default=10240)
    ap.add_argument('--epochs', type=int, default=3, help='epochs 2.. are measured (the first warms up)')
    ap.add_argument('--dataset', default='cifar10')
    a = ap.parse_args(argv)
    if a.rounds < 1 or a.epochs < 2: sys.exit('bench_ab: error: --rounds >= 1 and --epochs >= 2 are required')
    if a.a == a.b: sys.exit('bench_ab: error: --a and --b are the same settings')
    import pandas as pd, torch
    out, info, rows = Path(a.out), lscpu(), []
    tmp = Path(tempfile.mkdtemp(prefix='ab-'))
    try:
        for r in range(a.rounds):
            t = time.time()
            ps = [(side, tmp / f'r{r}-{side}', over) for side, over in (('A', a.a), ('B', a.b))]
            ps = [(side, d, start(d, 0, 1, a, extra=over)) for side, d, over in ps]
            for side, d, p in ps:
                if p.wait() != 0: sys.exit(f"bench_ab: error: run {side} failed, see {d.with_suffix('.log')}")
            for side, d, _ in ps: rows += [{'round': r, 'side': side, **e} for e in epochs(d)]
            got = pd.DataFrame(rows[-2 * (a.epochs - 1):]).groupby('side').img_s.median()
            print(f"round {r}: A {got['A']:.1f}, B {got['B']:.1f} img/s ({time.time() - t:.0f} s)", flush=True)
    finally: shutil.rmtree(tmp, ignore_errors=True)
    df = pd.DataFrame(rows)
    per = df.groupby(['round', 'side']).img_s.median().unstack()
    ratio = (per['B'] / per['A'])
    summary = {**info, 'torch': torch.__version__, 'date': time.strftime('%Y-%m-%dT%H:%M:%S%z'), 'command': ' '.join(sys.argv),
               'a': a.a, 'b': a.b, 'config': f'ViT-micro 128x6, decoder 64x2, patch 4, batch 256, {a.dataset} n_train {a.n_train}, '
               f'epochs 2-{a.epochs} of {a.epochs}, one thread each, side by side', 'a_img_s': round(float(per['A'].median()), 1),
               'b_img_s': round(float(per['B'].median()), 1), 'b_over_a_per_round': [round(float(x), 3) for x in ratio],
               'b_over_a': round(float(ratio.median()), 3)}
    out.mkdir(parents=True, exist_ok=True)
    df.to_csv(out / 'ab.csv', index=False)
    (out / 'summary.json').write_text(json.dumps(summary, indent=1) + '\n')
    table = '\n'.join(f"| {r} | {per.loc[r, 'A']:.1f} | {per.loc[r, 'B']:.1f} | {ratio[r]:.3f} |" for r in per.index)
    (out / 'bench.md').write_text(f"""# A/B training throughput on {info['cpu']}: {' '.join(a.b)} against {' '.join(a.a)}

`{summary['command']}` on {summary['date'][:10]}, torch {summary['torch']}. {summary['config']}; `train.amp=auto`.
Both sides start together in each round (the same seed), so they share the machine's load; img/s: the median over
the measured epochs of a round.

| round | A img/s | B img/s | B / A |
|---|---|---|---|
{table}

Median B / A over the rounds: **{summary['b_over_a']:.3f}** (A {summary['a_img_s']}, B {summary['b_img_s']} img/s).
""")
    print(df.to_string(index=False))
    print(f"B / A = {summary['b_over_a']:.3f} (per round: {summary['b_over_a_per_round']}); wrote {out / 'bench.md'}")
    return 0

if __name__ == '__main__':
    sys.exit(main())
