"""Write a unitree_rl_lab-style deploy.yaml from an exported policy's deploy contract (no Isaac Lab, no torch).

    python scripts/export_deploy_config.py --policy logs/rsl_rl/g1_mimic/<run>/exported/policy.onnx [--out deploy.yaml]

The contract is ``policy.json`` beside the ONNX file (or ``--contract``), checked against the one
embedded in the ONNX file; without ``--policy`` the ``--contract`` file alone is used. Export
(``scripts/play.py``) already writes ``deploy.yaml``; this regenerates it, e.g. after an update of
the generator. Field meanings: ``docs/deploy.md``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--policy", default=None, help="exported policy.onnx (its contract is checked against this file)"
    )
    parser.add_argument("--contract", default=None, help="deploy contract JSON (default: policy.json beside --policy)")
    parser.add_argument("--out", default=None, help="output file (default: deploy.yaml beside the contract)")
    args = parser.parse_args(argv)
    if args.policy is None and args.contract is None:
        parser.error("give --policy or --contract")

    from g1_mimic.deploy.contract import ContractError, load_contract, validate_contract
    from g1_mimic.deploy.deploy_yaml import DEPLOY_YAML_FILENAME, write_deploy_yaml

    try:
        if args.policy is not None:
            from g1_mimic.deploy.contract import load_policy_contract

            _, contract = load_policy_contract(args.policy, args.contract, require_supported_terms=False)
            base = Path(args.contract).parent if args.contract else Path(args.policy).parent
        else:
            contract = load_contract(args.contract)
            validate_contract(contract, require_supported_terms=False)
            base = Path(args.contract).parent
    except ContractError as exc:
        print(f"[export_deploy_config] refused: {exc}", file=sys.stderr)
        return 2
    out = write_deploy_yaml(contract, args.out or base / DEPLOY_YAML_FILENAME)
    print(f"[export_deploy_config] wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
