"""`python -m zoo`: the registered models and their place in the survey's taxonomy, as a Markdown table.
`python -m zoo params --size paper`: one CSV line per paper size, our count beside the published one."""
import argparse
import sys

from . import list_models, model_info


def models_table() -> str:
    lines = ["| model | domain | survey section | mechanism | paper | year |", "|---|---|---|---|---|---|"]
    for name in list_models():
        t = model_info(name).taxonomy
        lines.append(f"| `{name}` | {t['domain']} | {t['section']} | {t['mechanism']} | {t['paper']} | {t['year']} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m zoo", description="the registered models")
    commands = parser.add_subparsers(dest="command")
    params = commands.add_parser("params", help="parameter counts at the papers' sizes (built on the meta device)")
    params.add_argument("--size", default="paper", help="'paper' (every headlined size) or one size's name")
    args = parser.parse_args(argv)
    if args.command != "params":
        print(models_table())
        return 0
    from .sizes import size_rows, to_csv
    try:
        rows = size_rows(args.size)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(to_csv(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
