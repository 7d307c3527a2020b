"""Train (or resume) evidence arms outside the notebook, one process per call, so two calls can use two cores.

    OMP_NUM_THREADS=1 python tools/train_arms.py --profile cpu --arm mae --seeds 0 1 2

Makes the same `run_arm` + `evaluate_run` calls as `nbs/experiments/evidence_claims.ipynb`, with the profile's
defaults, into the same `runs/PROFILE/pretrain/` folders; the notebook then finds the runs and the cached scores.
"""
import argparse, sys, time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
STD_NAMES = ('device', 'dataset', 'data_root', 'size', 'img_size', 'patch_size', 'embed_dim', 'depth', 'num_heads',
             'decoder_embed_dim', 'decoder_depth', 'decoder_num_heads', 'n_train', 'n_val', 'n_test', 'epochs',
             'batch_size', 'blr', 'warmup_epochs', 'mask_ratio', 'knn_every')

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--profile', default='cpu')
    ap.add_argument('--arm', required=True)
    ap.add_argument('--seeds', type=int, nargs='+', default=None)
    a = ap.parse_args(argv)
    from mimpaper.core import default_device
    from mimpaper.evidence import arm_trunk, evaluate_run, run_arm
    from mimpaper.runs import build_data, experiment_config
    d = yaml.safe_load((ROOT / 'nbs/experiments/profiles' / f'{a.profile}.yaml').read_text())['defaults']
    std = {k: d[k] for k in STD_NAMES}
    data = build_data(experiment_config(**std), default_device(std['device']))
    for s in a.seeds if a.seeds is not None else d['seeds']:
        t = time.time()
        run = run_arm(a.arm, std, s, d['branch_epoch'], ROOT / 'runs' / a.profile / 'pretrain', data=data,
                      monitor_bank=d.get('monitor_bank'))
        ev = evaluate_run(run, data)
        if not arm_trunk(a.arm, {**std, 'branch_epoch': d['branch_epoch'], 'seed': s})[1]: evaluate_run(run, data, init=True)   # a trunk run: its init too
        print(f"{a.arm} seed {s}: kNN {ev['knn_top1']:.2f}, probe {ev['probe_top1']:.2f} ({time.time() - t:.0f} s)", flush=True)

if __name__ == '__main__':
    from mimpaper.core import ConfigError, DataError
    from mimpaper.train import Interrupted
    try: sys.exit(main())
    except (ConfigError, DataError) as e: sys.exit(f"train_arms: error: {e}")
    except Interrupted as e: sys.exit(f"train_arms: {e}")
