"""From a prompt to a rating: the learned score, its uncertainty, and a decision by cost.

Mistakes are not symmetric: a hard prompt sent to the 0.5B model fails outright, an easy one
sent to the 7B model only costs time. The score is read as a distribution (the model's
cross-validated spread around it) and the level chosen is the one with the least expected cost,
where each level too low costs `under` times a level too high (4 for quality, 2 balanced, 1
speed: even). The cut points between levels come from that rule and the spread measured on
held-out predictions (scripts/rater_lab.py); when the choice lands above the even-cost level,
the reasons say so, with the confidence.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass

from bizra_desktop.core.routing.features import COMMON_WORDS, PromptFeatures, extract
from bizra_desktop.core.routing.lexicon import CONCEPTS, CONSTRAINTS, LANGUAGE_NAMES
from bizra_desktop.core.routing.model import RaterModel, shipped_model
from bizra_desktop.core.routing.preference import Preference
from bizra_desktop.core.tiers import Complexity


@dataclass(frozen=True)
class Analysis:
    """A prompt's rating and why."""

    complexity: Complexity
    score: float  # the continuous difficulty behind the rating: 0 trivial … 4 expert
    reasons: tuple[str, ...]  # what decided it, most decisive first; confidence last
    confidence: float = 1.0  # the chance that the level is right, by the model's spread
    language: str = "en"  # ISO 639-1, guessed from the script and the task words
    preference: Preference = Preference.BALANCED


_CONCEPT_REASON = {c.name: c.reason for c in CONCEPTS}
# The concepts that say what is asked for; the others name a topic or a register, which is as
# true of pasted material as of the ask.
_ASKED_FOR = frozenset(c.name for c in CONCEPTS if c.reason.startswith("asks "))
_CONSTRAINT_REASON = {c.name: c.reason for c in CONSTRAINTS}
_MIN_SHARE = 0.12  # contributions smaller than this (in levels) are not worth a reason
_MAX_REASONS = 4
_SIZE = ("words", "length", "sentences", "lines", "ask_words")  # how long the prompt is


def _normal_cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


class Rater:
    """Rates prompts with a trained `RaterModel` (the shipped one by default)."""

    def __init__(self, model: RaterModel | None = None) -> None:
        self.model = model or shipped_model()

    def rate(self, prompt: str, preference: Preference = Preference.BALANCED) -> Analysis:
        features = extract(prompt)
        if not features.dense:
            return Analysis(Complexity.TRIVIAL, 0.0, ("empty prompt",), preference=preference)
        model = self.model
        score = model.score(features)
        cuts = model.cut_points[preference]
        level = Complexity(bisect_right(cuts, score))
        confidence = round(self._confidence(score, level, cuts), 3)
        reasons = self._reasons(features, score, level, confidence)
        return Analysis(level, round(score, 3), reasons, confidence, features.language, preference)

    def _confidence(self, score: float, level: Complexity, cuts: tuple[float, ...]) -> float:
        sigma = self.model.sigma
        low = -math.inf if level == 0 else cuts[level - 1]
        high = math.inf if level == len(cuts) else cuts[level]
        upper = 1.0 if high == math.inf else _normal_cdf((high - score) / sigma)
        lower = 0.0 if low == -math.inf else _normal_cdf((low - score) / sigma)
        return upper - lower

    def _reasons(
        self, features: PromptFeatures, score: float, level: Complexity, confidence: float
    ) -> tuple[str, ...]:
        # Features that say the same thing to a person (every length bin, a concept and its
        # crosses) add up before the largest pushes are named.
        pushes: dict[str, float] = {}
        for contribution in self.model.contributions(features, least=_MIN_SHARE / 4):
            reason = _describe(features, contribution.feature, contribution.amount)
            if reason:
                pushes[reason] = pushes.get(reason, 0.0) + contribution.amount
        ranked = sorted(pushes.items(), key=lambda item: -abs(item[1]))
        said = [reason for reason, push in ranked if abs(push) >= _MIN_SHARE][:_MAX_REASONS]
        if not said:  # many small pushes, none worth a reason alone
            said = _what_is_asked(features)
        if features.language != "en":
            name = LANGUAGE_NAMES.get(features.language, features.language)
            said.append(f"{name} (rated as the same request in English would be)")
        # The level with even costs either way (the speed preference's cuts): where the score
        # itself points. Above it, the cost of a too-small model decided.
        neutral = Complexity(bisect_right(self.model.cut_points[Preference.SPEED], score))
        if level > neutral:
            said.append(
                f"between {neutral.label} and {level.label} (confidence {confidence:.0%}): "
                f"sent up to {level.label}, since a model too small fails outright"
            )
        else:
            said.append(f"confidence {confidence:.0%}")
        return tuple(said)


def _count(word: str, n: int) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _wording(words: str, up: bool) -> str:
    """A hashed word's (or word pair's) push; none for common words ("and", "what s"): true of
    the data, no help to a person."""
    if all(word in COMMON_WORDS for word in words.split()):
        return ""
    return f"wording typical of {'harder' if up else 'easier'} prompts ('{words}')"


def _describe(features: PromptFeatures, name: str, amount: float) -> str:
    """A feature's push on the score, said as a person would; "" for one not worth saying."""
    up = amount > 0  # pushes on one feature; the reason's total push decides if it is said
    base = name.split("&", maxsplit=1)[0].split(":repeated", maxsplit=1)[0]
    if base.startswith(("asks:", "leads:")):
        return _concept(features, base.split(":", 1)[1])
    if name.startswith("word:"):
        return _wording(name[5:], up)
    word_problem = "word_problem_length" in features.dense
    # In a word problem its length and its quantities are the size of the problem: one reason.
    if name.startswith(("word_problem", "numbers")) or (word_problem and name.startswith(_SIZE)):
        numbers = len(features.numbers)
        if word_problem and not _pasted(features):
            if numbers == 1:  # the others spelled out ("twice as many", "half")
                return "maths word problem (1 quantity in digits)"
            return f"multi-step maths word problem ({numbers} quantities)"
        if word_problem:
            return f"{_count('number', numbers)} in the pasted material"
        return _count("number", numbers) if numbers > 1 else ""
    if name.startswith(("constraints", "constraint_kinds")):
        return _constraints(features.evidence)
    for describe in _STRUCTURE:
        said = describe(features, name, up)
        if said is not None:
            return said
    return ""


def _pasted(features: PromptFeatures) -> bool:
    """A table, log or listing pasted with a question about it: its numbers are material,
    and a person would not call it a maths word problem."""
    return "pasted_block" in features.dense or any(
        name.startswith("edge_ask:") for name in features.dense
    )


def _concept(features: PromptFeatures, concept: str) -> str:
    if concept not in _CONCEPT_REASON:
        return ""
    terms = ", ".join(f"'{t}'" for t in features.evidence.get(concept, [])[:2])
    if terms and _only_in_material(features, concept):
        # "write_timeout" in a pasted config is no ask for a piece of writing.
        return f"{terms} in the pasted material"
    return f"{_CONCEPT_REASON[concept]} ({terms})" if terms else _CONCEPT_REASON[concept]


def _only_in_material(features: PromptFeatures, concept: str) -> bool:
    """A task word found in a paste but not in the short ask around it."""
    framed = any(name.startswith("edge_ask:") for name in features.dense)
    return framed and concept in _ASKED_FOR and f"edge:{concept}" not in features.dense


def _what_is_asked(features: PromptFeatures) -> list[str]:
    """When no push is large enough to name, the trees weighed many small things (3 to 10 % of
    prompts): say what the prompt asks for, so the badge never shows a bare confidence."""
    found = [name for name in _CONCEPT_REASON if name in features.evidence]
    if len(found) > 1 and "greeting" in found:
        found.remove("greeting")  # the task is what is rated, not the greeting before it
    if found:
        return [_concept(features, name) for name in found[:2]]
    return [f"no task word it knows: rated by length and form ({_count('word', features.units)})"]


def _constraints(evidence: dict[str, list[str]]) -> str:
    kinds = [k.split(":", 1)[1] for k in evidence if k.startswith("constraint:")]
    count = sum(len(evidence[f"constraint:{k}"]) for k in kinds)
    if not count:
        return ""
    said = ", ".join(_CONSTRAINT_REASON[k] for k in kinds[:3])
    return f"{_count('explicit constraint', count)} ({said})"


def _code_or_maths(features: PromptFeatures, name: str, up: bool) -> str | None:
    if name.startswith(("code_lines", "code_fence", "error_output")):
        return "code or program output in the prompt" if features.code_lines else ""
    if name.startswith("math_symbols"):
        return "mathematical notation" if up and not name.endswith("<=0") else ""
    if name == "multiple_choice":
        return "multiple-choice question"
    return None


def _no_task(features: PromptFeatures, name: str, up: bool) -> str | None:
    if name.startswith(("greeting_without_task", "no_task_no_question")):
        greeting = "greeting" in features.evidence
        return "greeting or small talk, no task" if greeting else "no question or task"
    if name.startswith("no_known_task_word"):
        return "no task word"
    return None


def _size(features: PromptFeatures, name: str, up: bool) -> str | None:
    if name.startswith(("material_words", "pasted_block")):
        # With nothing asked, the material is the whole message: its length.
        return _material(features) or (
            _length(features, up) if features.material_units > 20 else ""
        )
    if name.startswith(_SIZE):
        # Where most of the length is a paste or a story around a short ask, the length is the
        # material's: one reason, not "long prompt" beside it.
        if up and features.material_units > features.units / 2 and (said := _material(features)):
            return said
        return _length(features, up)
    if name.startswith("list_items") and features.list_items > 2:
        return f"{features.list_items} listed items or requirements"
    if name.startswith("questions") and features.questions > 1:
        return f"{features.questions} questions"
    return None


def _length(features: PromptFeatures, up: bool) -> str:
    if up and features.units > 30:
        return f"long prompt ({features.units} words)"
    if not up and features.units <= 12:
        return f"short prompt ({_count('word', features.units)})"
    return ""


def _material(features: PromptFeatures) -> str:
    """Around the ask lies a paste (code, a log, a table) or the story that leads to it; ""
    where that is short, or where nothing is asked (all of it is the message)."""
    asks_nothing = any(name.startswith("no_task_no_question") for name in features.dense)
    if features.material_units <= 20 or asks_nothing:
        return ""
    pasted = "pasted_block" in features.dense or features.code_lines
    kind = "pasted material" if pasted else "background"
    return f"{kind} ({features.material_units} words) around the ask"


# The structure's features, each family said by one function (None: not that family's).
_STRUCTURE: tuple[Callable[[PromptFeatures, str, bool], str | None], ...] = (
    _code_or_maths,
    _no_task,
    _size,
)
