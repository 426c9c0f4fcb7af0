"""Issue 27: the wheel is what users install. Built with `python -m build`, installed with no extras into a fresh
venv with every compiler disabled, it evaluates against a loopback OpenAI-compatible server from Python and from
the shell, with no other step, and needs no GPL package."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import free_port, wait_http

ROOT = Path(__file__).resolve().parents[1]
PURE_SDISTS = {"trueskill"}  # dependencies published as source only: pure Python, built without a compiler

pytestmark = pytest.mark.slow

EVALUATE = """
import adaem, json, sys
result = adaem.evaluate(["Should zoos be abolished?", "Should voting be compulsory?", "Should homework be banned?"],
                        models=["openai/sim-a", "openai/sim-b"], judge="openai/sim-j", out=sys.argv[1])
print(json.dumps({"answers": len(result.answers), "parsed": int(result.answers["vector"].notna().sum()),
                  "scores": len(result.scores)}))
"""


def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    assert done.returncode == 0, f"{cmd[:4]} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def test_the_wheel_installs_alone_and_evaluates_against_a_server(tmp_path):
    dist = tmp_path / "dist"
    run([sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(ROOT)])
    wheel = next(dist.glob("adaem-*.whl"))
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)])
    python, adaem = venv / "bin" / "python", venv / "bin" / "adaem"
    no_compiler = {**os.environ, "CC": "/bin/false", "CXX": "/bin/false", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    no_compiler.pop("PYTHONPATH", None)
    installed = run([str(python), "-m", "pip", "install", str(wheel)], env=no_compiler)
    built = {line.split("Building wheel for ")[1].split()[0] for line in installed.stdout.splitlines()
             if "Building wheel for " in line}
    assert built <= PURE_SDISTS, f"compiled at install: {built - PURE_SDISTS}"
    files = run([str(python), "-c", "import adaem, pathlib; p = pathlib.Path(adaem.__file__).parent; "
                 "print(sorted(str(f.relative_to(p)) for f in p.rglob('*') if f.is_file()))"], env=no_compiler)
    for needed in ("prompts/opinion.txt", "theories/schwartz10.yaml", "data/seeds.jsonl",
                   "data/judge_validation/schwartz10.jsonl", "data/minilm/tokenizer.json",
                   "data/calibration/qwen2.5-coder-1.5b-schwartz10-per-value-one-definition.json", "report/assets/report.js"):
        assert needed in files.stdout, f"{needed} is not in the wheel"
    assert "torch" not in run([str(python), "-m", "pip", "list"], env=no_compiler).stdout
    licences = run([str(python), str(ROOT / "scripts" / "licences.py")], env=no_compiler)
    assert "no GPL licence" in licences.stdout

    port = free_port()
    server = subprocess.Popen([sys.executable, str(ROOT / "tests" / "stub_server.py"), "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_http(f"http://127.0.0.1:{port}/v1/models", server)
        env = {**no_compiler, "OPENAI_BASE_URL": f"http://127.0.0.1:{port}/v1", "OPENAI_API_KEY": "sk-test",
               "ADAEM_CACHE_DIR": str(tmp_path / "cache")}
        out = run([str(python), "-c", EVALUATE, str(tmp_path / "api-run")], env=env, cwd=tmp_path)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        assert result == {"answers": 6, "parsed": 6, "scores": 20}
        shell = tmp_path / "questions.txt"
        shell.write_text("question\nShould zoos be abolished?\nShould voting be compulsory?\n")
        (tmp_path / "q.csv").write_text(shell.read_text())
        run([str(adaem), "evaluate", "--benchmark", str(tmp_path / "q.csv"), "--models", "openai/sim-a,openai/sim-b",
             "--judge", "openai/sim-j", "--out", str(tmp_path / "cli-run")], env=env, cwd=tmp_path)
        scores = json.loads((tmp_path / "cli-run" / "scores.json").read_text())
        assert scores and (tmp_path / "cli-run" / "scores.csv").exists()
    finally:
        server.kill()
