"""Copies the scan corpus to a directory, with fake credentials assembled at run time.

The committed corpus holds placeholders instead of credential-shaped strings, so that no
secret scanner (push protection included) flags the repository; the fake values are built from
parts here. None of them is, or was ever, a live credential.
"""

from __future__ import annotations

import shutil
from pathlib import Path

CORPUS = Path(__file__).parent / "corpus"
# Written and labelled by hand before the engine was first run on it.
LABELLED = Path(__file__).parent / "corpus_labelled"
CORPORA = {"corpus": CORPUS, "corpus_labelled": LABELLED}

FAKE_GITHUB_TOKEN = "ghp" + "_" + "Zx9" * 12
FAKE_OPENAI_KEY = "sk-" + "proj-" + "Qw3Er5Ty7Ui9Op1As2Df4Gh6"
FAKE_HF_TOKEN = "hf" + "_" + "Ab1Cd2Ef3Gh4Jk5Lm6Np7Qr8St9Uv0Wx1Yz"
PLACEHOLDERS = {
    "GHP_PLACEHOLDER_FILLED_BY_FIXTURE": FAKE_GITHUB_TOKEN,
    "OPENAI_PLACEHOLDER": FAKE_OPENAI_KEY,
    "HF_PLACEHOLDER": FAKE_HF_TOKEN,
}


def materialise(target: Path, corpus: Path = CORPUS) -> Path:
    """A copy of ``corpus`` under ``target`` with the placeholders replaced; returns its root."""
    root = target / corpus.name
    shutil.copytree(corpus, root, ignore=shutil.ignore_patterns("expected.json", "__pycache__"))
    for path in root.rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            replaced = text
            for placeholder, value in PLACEHOLDERS.items():
                replaced = replaced.replace(placeholder, value)
            if replaced != text:
                path.write_text(replaced, encoding="utf-8")
    return root
