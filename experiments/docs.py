"""Parameter tables for docs/ODD.md, generated from the sourced field declarations in model/."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from model.config import ModelConfig
from model.rules import REGISTRY, ensure_registered


def _rows(prefix: str, model_cls: type[BaseModel], instance: BaseModel | None) -> list[tuple[str, Any, str, str]]:
    rows = []
    for name, field in model_cls.model_fields.items():
        value = getattr(instance, name) if instance is not None else field.get_default(call_default_factory=True)
        path = f"{prefix}.{name}" if prefix else name
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        source = extra.get("source", "")
        if isinstance(value, BaseModel) and not source:
            rows.extend(_rows(path, type(value), value))
            continue
        if isinstance(value, BaseModel):
            value = value.model_dump(mode="json")
        if isinstance(value, list) and value and isinstance(value[0], BaseModel):
            value = f"{len(value)} entries (see source)"
        if source or field.description:
            rows.append((path, value, field.description or "", source))
    return rows


def _table(rows: list[tuple[str, Any, str, str]]) -> str:
    lines = ["| parameter | default | meaning | source |", "|---|---|---|---|"]
    for path, value, desc, source in rows:
        cell = str(value).replace("|", "/")
        lines.append(f"| `{path}` | {cell} | {desc} | {source.replace('|', '/')} |")
    return "\n".join(lines)


def parameter_tables() -> str:
    """Markdown tables: model parameters, then each named rule's parameters."""
    ensure_registered()
    config = ModelConfig()
    parts = ["### Model parameters\n", _table(_rows("", ModelConfig, config)), ""]
    for i, m in enumerate(config.militias):
        parts.append(f"Militia {i}: {m.name} ({m.short}): base_rate {m.base_rate}, iran_obedience {m.iran_obedience}, "
                     f"iraq_susceptibility {m.iraq_susceptibility}")
    parts.append("")
    for kind, entries in REGISTRY.items():
        for name, cls in sorted(entries.items()):
            rows = _rows("", cls.Params, None)
            parts.append(f"### Rule `{name}` ({kind})\n\n{(cls.__doc__ or '').strip().splitlines()[0]}\n\nSource: {cls.source}\n")
            if rows:
                parts.append(_table(rows))
            parts.append("")
    return "\n".join(parts)
