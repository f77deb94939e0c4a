"""`python -m glcr_sandbox serve --state-dir DIR [--port N] [--latency-ms N] [--seed] [--registry KIND] [--tls]`.

The foreground process behind `glcr sandbox up`; stops on SIGTERM or Ctrl-C.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from glcr_sandbox.registry_kinds import DEFAULT_KIND, KINDS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m glcr_sandbox", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the sandbox in the foreground")
    serve.add_argument("--state-dir", type=Path, required=True)
    serve.add_argument("--port", type=int, default=0, help="API port on 127.0.0.1 (0: any free port)")
    serve.add_argument("--latency-ms", type=int, default=0, help="sleep before every GitLab API answer")
    serve.add_argument("--seed", action="store_true", help="push the demo images if demo/app has none")
    serve.add_argument("--registry-latency-ms", type=int, default=0,
                       help="delay every registry request by this much (a relay in front of it)")
    serve.add_argument("--registry", choices=KINDS, default=DEFAULT_KIND,
                       help="GitLab's own registry with its database (default), without it, or Debian's docker-registry")
    serve.add_argument("--tls", action="store_true",
                       help="serve the API and the registry over https (a throwaway CA in STATE_DIR/tls)")
    args = parser.parse_args(argv)

    from glcr_sandbox.daemon import serve as run

    return run(args.state_dir, port=args.port, latency_ms=args.latency_ms, seed=args.seed,
               registry_latency_ms=args.registry_latency_ms, registry_kind=args.registry, tls=args.tls)


if __name__ == "__main__":
    sys.exit(main())
