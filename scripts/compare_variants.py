"""Train and evaluate task variants on one clip with the same wall-clock budget and seeds; print a table.

    python scripts/compare_variants.py [--variants beyondmimic deepmimic ...] [--seeds 1] [--minutes 5]
                                       [--task Isaac-G1-Mimic-CPU-Learn-v0] [--motion PATH] [--num_envs N]
                                       [--out compare_variants.json]

For every (variant, seed): ``scripts/train.py --task TASK --variant VARIANT --seed SEED --max_minutes M``
(a fresh run, experiment ``<task experiment>_cmp_<variant>``), then ``scripts/evaluate.py`` on its
last checkpoint (same episode count for all). Prints a markdown table (success rate, MPKPE, joint
RMSE, mean episode length, PPO iterations reached) and writes every report to ``--out``. Results of
finished pairs are kept in ``--out`` and skipped when the script is run again (delete it to redo).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _run(cmd: list[str], log: Path) -> None:
    print("[compare] " + " ".join(cmd) + f"  (log: {log})", flush=True)
    with open(log, "w") as fh:
        status = subprocess.call(cmd, stdout=fh, stderr=subprocess.STDOUT, cwd=REPO)
    if status != 0:
        tail = log.read_text()[-3000:]
        raise SystemExit(f"[compare] command failed (exit {status}); last log lines:\n{tail}")


def _new_run(experiment: str, before: set[Path]) -> Path:
    runs = sorted(p for p in (REPO / "logs" / "rsl_rl" / experiment).glob("*") if p.is_dir() and p not in before)
    if not runs:
        raise SystemExit(f"[compare] no new run under logs/rsl_rl/{experiment}")
    return runs[-1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", nargs="+",
                        default=["beyondmimic", "deepmimic", "mimickit", "history", "actuation", "contacts"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1])
    parser.add_argument("--minutes", type=float, default=5.0, help="wall-clock budget of each training run")
    parser.add_argument("--task", default="Isaac-G1-Mimic-CPU-Learn-v0")
    parser.add_argument("--motion", default=None)
    parser.add_argument("--num_envs", type=int, default=None)
    parser.add_argument("--num_episodes", type=int, default=16)
    parser.add_argument("--out", default="compare_variants.json")
    args = parser.parse_args(argv)

    from g1_mimic.fileio import atomic_write_json
    from g1_mimic.rl.checkpoint import latest_checkpoint
    from g1_mimic.rl.variants import load_variants

    table = load_variants()
    unknown = [v for v in args.variants if v not in table]
    if unknown:
        raise SystemExit(f"[compare] unknown variant(s) {unknown}; the variant table (g1_mimic/rl/variants.yaml) has {sorted(table)}")
    out = Path(args.out)
    results: dict = json.loads(out.read_text()) if out.exists() else {}
    logs = REPO / "logs" / "compare_variants"
    logs.mkdir(parents=True, exist_ok=True)
    py = sys.executable
    env_args = ["--num_envs", str(args.num_envs)] if args.num_envs else []
    motion_args = ["--motion", args.motion] if args.motion else []
    for variant in args.variants:
        for seed in args.seeds:
            key = f"{variant}/seed{seed}"
            if key in results:
                print(f"[compare] {key}: kept from {out}", flush=True)
                continue
            experiment = f"cmp_{variant}"
            exp_dir = REPO / "logs" / "rsl_rl" / experiment
            before = set(exp_dir.glob("*")) if exp_dir.exists() else set()
            t0 = time.time()
            _run([py, "scripts/train.py", "--task", args.task, "--variant", variant, "--seed", str(seed),
                  "--max_minutes", str(args.minutes), "--max_iterations", "100000", "--experiment_name", experiment,
                  "--headless", "--no_export", *env_args, *motion_args], logs / f"{variant}_seed{seed}_train.log")
            run = _new_run(experiment, before)
            ckpt = latest_checkpoint(run)
            report = run / "eval.json"
            _run([py, "scripts/evaluate.py", "--checkpoint", str(ckpt), "--num_episodes", str(args.num_episodes),
                  "--json", str(report), *motion_args], logs / f"{variant}_seed{seed}_eval.log")
            rep = json.loads(report.read_text())
            rep.update(variant=variant, seed=seed, checkpoint=str(ckpt.relative_to(REPO)),
                       iterations=int(ckpt.stem.split("_")[-1]) + 1, minutes=args.minutes,
                       wall_s_train_and_eval=time.time() - t0)
            results[key] = rep
            atomic_write_json(out, results)
            print(f"[compare] {key}: success {rep['success_rate']:.2f}, MPKPE {100 * rep['mpkpe_m']:.1f} cm", flush=True)

    print(f"\n{args.task}, {args.minutes:g} min of training per run, {args.num_episodes} evaluation episodes\n")
    print("| variant | seed | PPO iterations | success rate | MPKPE (cm) | joint RMSE (rad) | mean episode (s) |")
    print("|---|---|---|---|---|---|---|")
    for r in results.values():
        if r.get("variant") in args.variants and r.get("seed") in args.seeds:
            print(f"| {r['variant']} | {r['seed']} | {r['iterations']} | {r['success_rate']:.2f} | "
                  f"{100 * r['mpkpe_m']:.1f} | {r['joint_pos_rmse_rad']:.3f} | {r['mean_episode_length_s']:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
