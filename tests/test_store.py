"""Run directories: refuse to clobber, resume what exists, survive torn writes and kill -9."""

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from adaem.config import RunConfig
from adaem.errors import ConfigError
from adaem.models import Ledger
from adaem.store import RunStore, read_usage


def test_create_refuses_an_existing_run_and_resume_needs_one(tmp_path: Path):
    store = RunStore.create(tmp_path / "run", RunConfig(), "smoke")
    store.close()
    with pytest.raises(ConfigError, match="already holds a run: add --resume"):
        RunStore.create(tmp_path / "run", RunConfig(), "smoke")
    with pytest.raises(ConfigError, match="nothing to resume"):
        RunStore.resume(tmp_path / "empty", "smoke")
    resumed = RunStore.resume(tmp_path / "run", "smoke")
    assert resumed.session == 2 and resumed.config == RunConfig()
    resumed.close()


def test_torn_last_line_is_cut_and_whole_lines_kept(tmp_path: Path):
    store = RunStore.create(tmp_path / "run", RunConfig(), "smoke")
    store.append("answers", {"key": "a", "text": "one"})
    store.append("answers", {"key": "b", "text": "two"})
    with store.stream_path("answers").open("a") as fh:
        fh.write('{"key": "c", "te')  # killed mid-write
    assert store.done_keys("answers") == {"a", "b"}
    assert store.stream_path("answers").read_text().endswith('"two"}\n')
    store.append("answers", {"key": "c", "text": "three"})
    assert [r["key"] for r in store.records("answers")] == ["a", "b", "c"]
    store.close()


def test_state_and_usage_persist_per_session(tmp_path: Path):
    store = RunStore.create(tmp_path / "run", RunConfig(), "smoke")
    store.put("arms", {"x": [1, 2]})
    ledger = Ledger()
    ledger.record_hit("mock/a", "judge")
    store.save_usage(ledger)
    store.close()
    again = RunStore.resume(tmp_path / "run", "smoke")
    assert again.get("arms") == {"x": [1, 2]}
    again.close()
    assert read_usage(tmp_path / "run")[0]["cache_hits"] == 1


def _smoke_cmd(out: Path, resume: bool) -> list[str]:
    cmd = [sys.executable, "-m", "adaem", "smoke", "--out", str(out), "--questions", "8"]
    if resume:
        return [*cmd, "--resume"]
    return [*cmd, "--explorers", ",".join(f"mock/m{i}" for i in range(8)), "--judge", "mock/judge",
            "--set", "limits.max_concurrency=2"]


def test_kill_9_at_any_instant_then_resume_repeats_nothing_and_loses_nothing(tmp_path: Path):
    """64 answers + 64 judgements; killed three times at different instants, then finished with --resume.
    Only calls in flight at a kill (at most 2 per model) may be sent twice."""
    log = tmp_path / "calls.log"
    env = {**os.environ, "ADAEM_MOCK_LATENCY": "0.05", "ADAEM_MOCK_CALL_LOG": str(log)}
    run = tmp_path / "run"
    answers = run / "outputs" / "answers.jsonl"

    def finished_units() -> int:
        return len(answers.read_bytes().split(b"\n")) - 1 if answers.exists() else 0

    for i, (target, jitter) in enumerate(((10, 0.013), (30, 0.0), (50, 0.029))):
        proc = subprocess.Popen(_smoke_cmd(run, resume=i > 0), env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        deadline = time.time() + 120
        while finished_units() < target and time.time() < deadline and proc.poll() is None:
            time.sleep(0.005)
        time.sleep(jitter)  # land the kill at different points of a call, not just after a line
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert target <= finished_units() < 64, "the kill must land mid-run"
    done = subprocess.run(_smoke_cmd(run, resume=True), env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr

    calls = Counter(log.read_text().splitlines())
    repeated = sum(n - 1 for n in calls.values())
    assert len(calls) == 128  # every distinct call was made
    assert repeated <= 3 * 2 * 9  # at most the in-flight ones at each of the 3 kills (9 models, 2 slots)

    records = [json.loads(line) for line in (run / "outputs" / "answers.jsonl").read_text().splitlines()]
    assert len(records) == 64 and len({r["key"] for r in records}) == 64

    # the same run, uninterrupted, ends with the same result
    clean = tmp_path / "clean"
    env2 = {**env, "ADAEM_MOCK_CALL_LOG": str(tmp_path / "clean.log")}
    subprocess.run(_smoke_cmd(clean, resume=False), env=env2, check=True, capture_output=True, timeout=300)
    expected = [json.loads(line) for line in (clean / "outputs" / "answers.jsonl").read_text().splitlines()]
    assert sorted(records, key=lambda r: r["key"]) == sorted(expected, key=lambda r: r["key"])
