"""int8 storage of a model's weights: half the size of float16.

Each large matrix is stored as int8 with one float32 scale per row (its largest magnitude /
127) and dequantized to float32 at load; the rest in float16. The comparison rewriters
(`restore.model`) take 9 MB each this way instead of 18 MB, which leaves room in models/ (64
MB in all) for the neural LM; a neural LM (`restore.nlm`) would take 5.3 MB instead of 10.5.
"""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

INT8_FILE = "model.int8.safetensors"
STORAGES = ("float16", "int8")
_SCALE = ".int8_scale"


def save_int8(model: torch.nn.Module, path: Path) -> None:
    tensors, seen = {}, set()
    for name, t in model.state_dict().items():
        if t.data_ptr() in seen:  # a tied weight is stored once
            continue
        seen.add(t.data_ptr())
        t = t.detach().float().cpu()
        if t.dim() == 2 and t.numel() >= 65_536:
            scale = t.abs().amax(1, keepdim=True).clamp_min(1e-12) / 127
            tensors[name] = torch.round(t / scale).to(torch.int8)
            tensors[name + _SCALE] = scale
        else:
            tensors[name] = t.to(torch.float16)
    save_file(tensors, str(path))


def read_int8(path: Path) -> dict[str, torch.Tensor]:
    """The stored weights dequantized to float32, by name (a tied weight under its first name)."""
    stored = load_file(str(path))
    return {name: (t.float() * stored[name + _SCALE] if name + _SCALE in stored else t.float())
            for name, t in stored.items() if not name.endswith(_SCALE)}


def save_pretrained_int8(model, out: Path) -> None:
    """A transformers model's config and generation config as it saves them, its weights in int8."""
    model.config.save_pretrained(str(out))
    model.generation_config.save_pretrained(str(out))
    save_int8(model, out / INT8_FILE)


def load_state(model: torch.nn.Module, state: dict[str, torch.Tensor], source: str) -> None:
    """`state` into `model`, every weight accounted for: one missing from it only if tied to one
    it holds (a tied weight is stored once); ValueError naming `source` otherwise."""
    missing, unexpected = model.load_state_dict(state, strict=False)
    loaded = {p.data_ptr() for name, p in model.state_dict().items() if name in state}
    untied = [name for name in missing if model.state_dict()[name].data_ptr() not in loaded]
    if unexpected or untied:
        raise ValueError(f"{source} does not fit the config: {', '.join((unexpected + untied)[:3])}")


def load_int8(model: torch.nn.Module, path: Path) -> None:
    load_state(model, read_int8(path), path.name)
