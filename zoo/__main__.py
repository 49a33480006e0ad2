"""`python -m zoo`: the registered models and their place in the survey's taxonomy, as a Markdown table."""
from . import list_models, model_info


def models_table() -> str:
    lines = ["| model | domain | survey section | mechanism | paper | year |", "|---|---|---|---|---|---|"]
    for name in list_models():
        t = model_info(name).taxonomy
        lines.append(f"| `{name}` | {t['domain']} | {t['section']} | {t['mechanism']} | {t['paper']} | {t['year']} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(models_table())
