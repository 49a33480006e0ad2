"""The README's example and commands keep working (docs that cannot rot)."""
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_readme_python_example_runs(capsys):
    blocks = re.findall(r"```python\n(.*?)```", README, re.S)
    assert blocks, "README lost its runnable example"
    for code in blocks:
        exec(compile(code, "README.md", "exec"), {})
    printed = capsys.readouterr().out
    assert "chunked" in printed and "torch.Size([2, 300, 4, 16])" in printed


def test_readme_quick_start_targets_exist():
    commands = re.findall(r"^make (\w[\w-]*)", README, re.M)
    assert {"reproduce", "test", "bench"} <= set(commands)
    targets = subprocess.run(["make", "-pRrq", "-f", str(ROOT / "Makefile")], capture_output=True, text=True,
                             cwd=ROOT).stdout
    for name in set(commands):
        assert re.search(rf"^{name}:", targets, re.M), f"README runs `make {name}`, which the Makefile lacks"


def test_ci_runs_the_readme_test_command():
    assert "make test" in (ROOT / ".ci" / "run").read_text()
