"""Versioned prompt templates: user preference and item knowledge, per domain."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ..llm.base import Messages

#: Domain factors from the AutoGraph paper (Shan et al., KDD 2025, Appendix prompts).
FACTORS: Dict[str, Tuple[str, ...]] = {
    "movies": (
        "genre", "character", "plot/theme", "mood/tone", "critical acclaim/award",
        "production quality", "soundtrack", "director/actors", "period/country",
    ),
    "books": (
        "genre", "author", "characters", "plot", "topic/theme", "writing style",
        "award/critical acclaim",
    ),
    "generic": (
        "category", "purpose/use", "style", "quality", "price range", "brand/creator",
        "audience",
    ),
}

_NOUN = {"movies": ("movie", "movies"), "books": ("book", "books"), "generic": ("item", "items")}

#: Item columns read as the item's own text (in this order, when present).
ITEM_TEXT_FIELDS = (
    "title", "year", "genres", "categories", "author", "authors", "publisher", "brand",
    "language", "description", "summary", "plot", "tags",
)
#: User columns read as demographics (``zip`` is left out on purpose: it adds nothing).
USER_FIELDS = ("age", "gender", "occupation", "location", "country")


def has_value(value: Any) -> bool:
    """Whether a text field holds something to show (not None, NaN, empty or "unknown")."""
    if value is None:
        return False
    if isinstance(value, float) and math.isnan(value):
        return False
    return str(value).strip() not in ("", "nan", "None", "unknown")


def _fmt(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # 1995.0 -> 1995
    return str(value).replace("|", ", ").strip()


def describe_item(fields: Mapping[str, Any], max_chars: int = 600) -> str:
    """One line naming an item from its own text fields, e.g.
    ``"Toy Story (1995) [genres: Animation, Children's, Comedy]"``."""
    title = _fmt(fields["title"]) if has_value(fields.get("title")) else None
    parts = []
    for key in ITEM_TEXT_FIELDS[1:]:
        v = fields.get(key)
        if not has_value(v):
            continue
        if key == "year" and title and _fmt(v) in title:
            continue  # MovieLens titles already end in "(1995)"
        parts.append(f"{key}: {_fmt(v)}")
    line = title or "(untitled)"
    if parts:
        line += " [" + "; ".join(parts) + "]"
    return line if len(line) <= max_chars else line[: max_chars - 3] + "..."


def describe_user(fields: Mapping[str, Any]) -> Optional[str]:
    """A demographics sentence, or :obj:`None` when nothing is known."""
    known = [(k, _fmt(fields[k])) for k in USER_FIELDS if k in fields and has_value(fields[k])]
    if not known:
        return None
    d = dict(known)
    gender = {"M": "male", "F": "female"}.get(d.pop("gender", ""), None)
    bits = []
    if "age" in d:
        age = d.pop("age")
        bits.append(f"{age}-year-old" if age.isdigit() else f"aged {age}")
    if gender:
        bits.append(gender)
    text = "The user is " + (" ".join(bits) if bits else "a person")
    if "occupation" in d:
        text += f", occupation: {d.pop('occupation')}"
    for k, v in d.items():
        text += f", {k}: {v}"
    return text + "."


@dataclass(frozen=True)
class PromptTemplate:
    r"""A versioned prompt template.

    The :attr:`id` and :attr:`version` enter every LLM cache key: editing the
    wording without bumping :attr:`version` would silently reuse stale
    answers, so any change to the text below must bump it.

    Args:
        id (str): e.g. :obj:`"user_preference/movies"`.
        version (str): Bumped on every wording change.
        kind (str): :obj:`"user"` or :obj:`"item"`.
        domain (str): :obj:`"movies"`, :obj:`"books"` or :obj:`"generic"`.
        system (str): The system message.
        instruction (str): The task, with ``{noun}``/``{nouns}``/``{factors}``.
    """

    id: str
    version: str
    kind: str
    domain: str
    system: str
    instruction: str

    @property
    def factors(self) -> Tuple[str, ...]:
        return FACTORS[self.domain]

    def _fill(self, text: str) -> str:
        noun, nouns = _NOUN[self.domain]
        return text.format(noun=noun, nouns=nouns, factors=", ".join(self.factors))

    def user_messages(
        self, history: Sequence[Mapping[str, Any]], user: Optional[Mapping[str, Any]] = None
    ) -> Messages:
        r"""Messages for one user.

        Args:
            history (list of dict): The user's (training!) items, oldest first,
                each a dict of item fields; optional key ``rating``.
            user (dict, optional): The user's demographic fields.
        """
        if self.kind != "user":
            raise ValueError(f"{self.id} is an item template")
        noun, nouns = _NOUN[self.domain]
        lines = []
        demo = describe_user(user or {})
        if demo:
            lines.append(demo)
        lines.append(f"The user interacted with these {nouns}, oldest first:")
        for k, item in enumerate(history, 1):
            # Titles only, as in the paper: with genres and years every history line
            # doubled in length, and prompt tokens dominate the cost of user profiles.
            title = item.get("title")
            line = f"{k}. {_fmt(title) if has_value(title) else describe_item(item, max_chars=200)}"
            if has_value(item.get("rating")):
                line += f" (rated {_fmt(item['rating'])}/5)"
            lines.append(line)
        lines.append("")
        lines.append(self._fill(self.instruction))
        return [{"role": "system", "content": self._fill(self.system)},
                {"role": "user", "content": "\n".join(lines)}]

    def item_messages(self, item: Mapping[str, Any]) -> Messages:
        """Messages for one item, from the item's own text fields only."""
        if self.kind != "item":
            raise ValueError(f"{self.id} is a user template")
        noun, _ = _NOUN[self.domain]
        content = (f"The {noun}: {describe_item(item)}\n\n" + self._fill(self.instruction))
        return [{"role": "system", "content": self._fill(self.system)},
                {"role": "user", "content": content}]


_USER_SYSTEM = ("You are an expert in {nouns} and in recommender systems. "
                "You analyse what people like from what they chose.")
_USER_INSTRUCTION = (
    "Analyse this user's preferences along these factors: {factors}. "
    "Write one short line per factor, in the form 'factor: preference'. "
    "Be specific and do not list the {nouns} again."
)
_ITEM_SYSTEM = "You are an expert in {nouns}. You describe them accurately and concisely."
_ITEM_INSTRUCTION = (
    "Introduce this {noun} briefly, then describe it along these factors: {factors}. "
    "Write one short line per factor, in the form 'factor: description'. "
    "If you do not know a factor, give your best estimate from the information above."
)

TEMPLATES: Dict[Tuple[str, str], PromptTemplate] = {}
for _domain in FACTORS:
    TEMPLATES[("user", _domain)] = PromptTemplate(
        f"user_preference/{_domain}", "2", "user", _domain, _USER_SYSTEM, _USER_INSTRUCTION)
    TEMPLATES[("item", _domain)] = PromptTemplate(
        f"item_knowledge/{_domain}", "1", "item", _domain, _ITEM_SYSTEM, _ITEM_INSTRUCTION)


def get_template(kind: str, domain: str) -> PromptTemplate:
    """The current template for :obj:`kind` (``"user"``/``"item"``) and :obj:`domain`."""
    try:
        return TEMPLATES[(kind, domain)]
    except KeyError:
        raise ValueError(
            f"no template for kind={kind!r}, domain={domain!r}; "
            f"kinds: user, item; domains: {', '.join(FACTORS)}"
        ) from None


def list_templates() -> List[PromptTemplate]:
    return list(TEMPLATES.values())
