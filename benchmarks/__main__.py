"""Run the numtorch-vs-PyTorch benchmark suite and print a markdown table.

    PYTHONPATH=src python3 -m benchmarks [--quick] [--only NAME[,NAME]] [--markdown FILE]
                                         [--contended | --both] [--no-torch] [--list]
    PYTHONPATH=src python3 -m benchmarks --ddp     (DDP LeNet-5 throughput, 1 and 2 ranks)
"""

import argparse
import sys

from . import suite


def _parser():
    p = argparse.ArgumentParser(prog="python -m benchmarks",
                                description="numtorch next to PyTorch: time, memory, import.")
    p.add_argument("--quick", action="store_true",
                   help="tiny time budgets (a smoke run; the numbers mean little)")
    p.add_argument("--only", metavar="NAME",
                   help="run the cases whose id contains NAME (comma-separated list allowed; "
                        "see --list)")
    p.add_argument("--markdown", metavar="FILE", help="also write the table(s) to FILE")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--contended", action="store_true",
                      help="measure while a spinning process occupies one core")
    mode.add_argument("--both", action="store_true",
                      help="run the normal mode, then the contended mode")
    p.add_argument("--retries", type=int, default=2, metavar="N",
                   help="measure a case again, up to N times, when other processes kept more "
                        "than half a core busy, after waiting up to 5 s for a quiet moment; the "
                        "quietest attempt is kept (default: 2)")
    p.add_argument("--retry-budget", type=float, default=60.0, metavar="SECONDS",
                   help="time all retries together may take (default: 60)")
    p.add_argument("--no-torch", action="store_true", help="measure numtorch only")
    p.add_argument("--list", action="store_true", help="list the case ids and exit")
    p.add_argument("--ddp", action="store_true",
                   help="instead of the suite: DistributedDataParallel LeNet-5 throughput with 1 "
                        "and 2 ranks, numtorch run vs torchrun (benchmarks/ddp_lenet.py)")
    return p


def main(argv=None):
    parser = _parser()
    args = parser.parse_args(argv)
    if args.ddp:
        from . import ddp_lenet
        _, table = ddp_lenet.run(steps=5 if args.quick else 30, with_torch=not args.no_torch,
                                 progress=lambda line: print(line, file=sys.stderr))
        print(table)
        if args.markdown:
            with open(args.markdown, "w", encoding="utf-8") as f:
                f.write(table)
        return 0
    if not suite.select(suite.cases(), args.only):
        parser.error(f"no benchmark matches {args.only!r}; see --list")
    if args.list:
        for case in suite.cases():
            print(f"{case.id:<28} {case.section}")
        return 0
    modes = [False, True] if args.both else [args.contended]
    tables = []
    for contend in modes:
        _, table = suite.run(quick=args.quick, only=args.only, with_torch=not args.no_torch,
                             contend=contend, retries=args.retries,
                             retry_budget=args.retry_budget,
                             progress=lambda line: print(line, file=sys.stderr))
        print(table)
        tables.append(table)
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as f:
            f.write("\n".join(tables))
    return 0


if __name__ == "__main__":
    sys.exit(main())
