"""Where the shipped models live (inside the checkout, next to the package)."""

from pathlib import Path

MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
LEXICON_PATH = MODELS_DIR / "lexicon.json.gz"
DETECTOR_DIR = MODELS_DIR / "detector"
LM_DIR = MODELS_DIR / "lm"
NLM_DIR = MODELS_DIR / "nlm"
