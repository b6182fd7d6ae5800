"""``nsr-bench bank inspect``: a saved TaskKnowledgeBank's entries, ranks, bytes and key similarities."""

from __future__ import annotations

import argparse

from nsr_bench.cli.common import Options, stored_results


def add_parser(sub) -> None:
    """The ``bank`` command, its ``inspect`` sub-command and their options."""
    parser = sub.add_parser("bank", help="inspect a saved TaskKnowledgeBank (never unpickles anything)")
    bank_sub = parser.add_subparsers(dest="bank_command", required=True)
    inspect = bank_sub.add_parser("inspect", help="entries, ranks, bytes and key similarities of a Bank")
    inspect.add_argument("file", nargs="?", help="a bank.safetensors file")
    opts = Options(inspect)
    opts.shared("results", "overwrite")
    opts.add("--cell", help="read the Bank of this cell hash (or a unique prefix) from the results store")
    opts.add("--save", help="with --cell: also write the Bank to this file")
    inspect.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    from nsr_bench.config import SpecError
    from nsr_bench.nsr.bank import TaskKnowledgeBank

    if args.cell and args.file:
        raise SpecError(f"give a Bank FILE ({args.file}) or --cell {args.cell}, not both")
    if args.save and not args.cell:
        raise SpecError("--save writes the Bank of --cell HASH; a Bank FILE is already a file, copy it instead")
    if args.cell:
        from nsr_bench.outputs import output_file

        save_to = output_file(args.save, "--save", args.overwrite) if args.save else None
        store = stored_results(args.results)
        data = store.bank_bytes(store.cell(args.cell)["hash"])  # the hash, or a unique prefix of it
        if data is None:
            raise SpecError(f"no Bank stored for cell {args.cell!r} in {args.results}")
        bank = TaskKnowledgeBank.from_bytes(data)
        if save_to:
            print(f"wrote {save_to[0].write_bytes(save_to[1], data)}")
    elif args.file:
        bank = TaskKnowledgeBank.load(args.file)
    else:
        raise SpecError("give a Bank FILE, or --cell HASH (with --results) to read one from the store")
    print(bank.describe())
    return 0
