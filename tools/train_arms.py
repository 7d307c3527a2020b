"""Train (or resume) evidence arms outside the notebook, one process per call, so two calls can use two cores.

    OMP_NUM_THREADS=1 python tools/train_arms.py --profile cpu --arm mae --seeds 0 1 2
    OMP_NUM_THREADS=1 python tools/train_arms.py --profile cpu --experiment mto_table3 --arm mto-e --seeds 0
    OMP_NUM_THREADS=1 python tools/train_arms.py --profile cpu --arm sg --seeds 1 2 --no-score   # train only

Makes the same `evidence.score_arm` calls as `nbs/experiments/evidence_claims.ipynb`, with the profile's
defaults (and, with `--experiment`, that experiment's own settings, e.g. its `epochs`), into the same
`runs/PROFILE/pretrain/` folders; the notebook then finds the runs and the cached scores. `mimpaper reproduce
--workers 2` does the same for a whole experiment (`evidence.train_side_by_side`).
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
    ap.add_argument('--experiment', default=None, help="take this experiment's settings over the defaults (epochs, seeds, ...)")
    ap.add_argument('--seeds', type=int, nargs='+', default=None)
    ap.add_argument('--no-score', action='store_true', help='train (or resume) only; no kNN / probe (e.g. for evidence_analysis, which scores nothing)')
    a = ap.parse_args(argv)
    from mimpaper.core import ConfigError, default_device
    from mimpaper.evidence import run_arm, score_arm
    from mimpaper.runs import build_data, experiment_config
    prof = yaml.safe_load((ROOT / 'nbs/experiments/profiles' / f'{a.profile}.yaml').read_text())
    d = prof['defaults']
    if a.experiment:
        if a.experiment not in prof['experiments']: raise ConfigError(f"no experiment {a.experiment!r} in profile {a.profile!r}")
        d = {**d, **prof['experiments'][a.experiment]}
    std = {k: d[k] for k in STD_NAMES}
    data = build_data(experiment_config(**std), default_device(std['device']))
    for s in a.seeds if a.seeds is not None else d['seeds']:
        t = time.time()
        if a.no_score:
            run_arm(a.arm, std, s, d['branch_epoch'], ROOT / 'runs' / a.profile / 'pretrain', data=data, monitor_bank=d.get('monitor_bank'))
            print(f"{a.arm} seed {s}: trained ({time.time() - t:.0f} s)", flush=True); continue
        ev = score_arm(a.arm, std, s, d['branch_epoch'], ROOT / 'runs' / a.profile / 'pretrain', data, d.get('monitor_bank'),
                       protocol={'features': d.get('eval_features', 'fp32')})['eval']
        print(f"{a.arm} seed {s}: kNN {ev['knn_top1']:.2f}, probe {ev['probe_top1']:.2f} ({time.time() - t:.0f} s)", flush=True)

if __name__ == '__main__':
    from mimpaper.core import ConfigError, DataError
    from mimpaper.train import Interrupted
    try: sys.exit(main())
    except (ConfigError, DataError) as e: sys.exit(f"train_arms: error: {e}")
    except Interrupted as e: sys.exit(f"train_arms: {e}")
