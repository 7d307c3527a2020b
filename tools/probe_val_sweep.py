# Probe hyper-parameters checked on the VALIDATION split (train 45k -> val 5k) of the cpu MAE baseline, seed 0; the test split is never touched.
# Usage: python tools/probe_val_sweep.py   (needs the cpu profile's MAE seed-0 run in runs/cpu/pretrain; ~20 min on 1 loaded core)
import sys, time, json, itertools
from pathlib import Path
ROOT = Path(__file__).resolve().parents[1]; sys.path.insert(0, str(ROOT))
import yaml, torch
from mimpaper.evidence import run_arm, pooled_features
from mimpaper.evaluation import linear_probe
from mimpaper.runs import build_data, experiment_config
from mimpaper.core import default_device
d = dict(yaml.safe_load(open(ROOT / 'nbs/experiments/profiles/cpu.yaml'))['defaults'])
seeds, be, bank = d.pop('seeds'), d.pop('branch_epoch'), d.pop('monitor_bank')
data = build_data(experiment_config(**d), default_device('auto'))
run = run_arm('mae', d, 0, be, str(ROOT / 'runs/cpu/pretrain'), data=data, monitor_bank=bank)
t = time.time(); tr, va = pooled_features(run['model'], data['train']), pooled_features(run['model'], data['val'])
print('features', round(time.time() - t), 's', flush=True)
rows = []
for pool, blr, ep, wd in itertools.product(['mean'], [0.03, 0.1, 0.3, 1.0, 3.0], [30, 100], [0.0, 5e-4]):
    t = time.time()
    r = linear_probe(tr[pool], tr['label'], va[pool], va['label'], 10, epochs=ep, batch_size=1024, blr=blr, optimizer='sgd',
                     warmup_epochs=3, weight_decay=wd, seed=0)
    rows.append(dict(pool=pool, blr=blr, epochs=ep, wd=wd, val_top1=r['top1'], s=round(time.time() - t, 1)))
    print(rows[-1], flush=True)
print(json.dumps(max(rows, key=lambda r: r['val_top1'])))
