"""The process a run trains in: a fresh one per run, forked warm, with the caller's environment; a
subprocess where the platform has no forkserver."""
import os
import signal
import sys

import pytest

from runners.suite import workers

warm = pytest.mark.skipif(workers.forkserver() is None, reason="no forkserver start method here")


def report_and_exit(argv):  # module level: the forked child imports it by name
    command = f"{sys.modules['__main__'].__spec__.name}:{','.join(sys.argv[1:])}"
    print(os.getpid(), os.environ.get("MAMBAZOO_TEST_VALUE"), os.getcwd(), command, file=sys.stderr)
    return 3


def killed(argv):
    print("Killed", file=sys.stderr, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)


@warm
def test_each_run_has_a_process_of_its_own_with_the_callers_environment_and_command_line(monkeypatch):
    monkeypatch.setenv("MAMBAZOO_TEST_VALUE", "first")
    code, line = workers.train(["a=1"], target=report_and_exit)
    pid, value, cwd, command = line.split()
    assert code == 3 and int(pid) != os.getpid() and (value, cwd) == ("first", str(workers.ROOT))
    assert command == "runners.train:a=1"  # as `python -m runners.train a=1` shows itself to a re-launcher
    monkeypatch.setenv("MAMBAZOO_TEST_VALUE", "second")  # after the server started
    code, line = workers.train([], target=report_and_exit)
    assert line.split()[1] == "second" and line.split()[0] != pid


@warm
def test_a_killed_run_gives_the_signal_and_its_last_line():
    assert workers.train([], target=killed) == (-signal.SIGKILL, "Killed")


@pytest.mark.parametrize("start", ["forkserver", "subprocess"])
def test_a_wrong_run_exits_2_with_its_one_line_error(start, monkeypatch):
    if start == "subprocess":
        monkeypatch.setattr(workers, "forkserver", lambda: None)
    elif workers.forkserver() is None:
        pytest.skip("no forkserver start method here")
    code, line = workers.train(["model.name=mambo"])
    assert code == 2 and line.startswith("train: error:") and "mambo" in line
