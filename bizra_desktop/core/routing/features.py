"""A prompt as the rater's model sees it: named structural features plus hashed words.

The same function serves training (`scripts/train_rater.py`) and the app, so what the model
learned is exactly what it is asked about. Most features do not depend on the language of the
prompt (numbers, code, lists, maths symbols, length in words or their equivalent, and the
multilingual concepts of `lexicon.py`); the hashed words and word pairs add what structure
cannot see (the subject, the register) and carry less weight by design, so that a translation
is rated like its original.

Speed: a prompt longer than 2,000 characters is read from a bounded sample (its head, its
tail, where an ask sits, and a few strided pieces of the middle, which show what the pasted
material is); counts of structure are scaled up from the sample to the whole. Lookups are set
and dict hits, and hashing is zlib.crc32, which is stable across processes (Python's own hash()
is salted per process).
"""

from __future__ import annotations

import math
import re
import string
import unicodedata
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from bizra_desktop.core.routing.lexicon import CONCEPTS, CONSTRAINTS, Concept

# Longer prompts are read from a sample of this many characters: head, strided middle, tail.
SAMPLE_LIMIT = 2000
SAMPLE_HEAD = 1200
SAMPLE_TAIL = 600
SAMPLE_PIECES = 2  # pieces of the middle, evenly spaced
SAMPLE_PIECE = (SAMPLE_LIMIT - SAMPLE_HEAD - SAMPLE_TAIL) // SAMPLE_PIECES
HASH_BITS = 18
HASH_MASK = (1 << HASH_BITS) - 1
_MAX_GRAMS = 512  # hashed features of a long prompt: its first 512 distinct words and pairs

# Every decimal digit of every script as ASCII ("١٢" and "১২" are 12 too), full-width forms
# folded by NFKC first.
_DIGITS = {
    code: str(unicodedata.decimal(chr(code)))
    for code in range(0x80, 0x1FBFA)
    if unicodedata.category(chr(code)) == "Nd"
}
_OTHER_DIGIT = re.compile(r"(?![0-9])\d")
# Marks beyond ASCII's punctuation that end a word. Spanish opens a question or exclamation
# with "¿" / "¡"; Arabic has its own comma and question mark, Devanagari its full stop "।".
_MARKS = "¡¿«»“”‘’„…、。，．！？：；（）「」『』【】《》〈〉·•—–،؛؟।॥"
_TOKEN_SPLIT = re.compile(rf"[\s!-/:-@\[-`{{-~{_MARKS}]+")
_NO_SPACE_RUN = re.compile(r"[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u9fff]+")
_KANA = re.compile(r"[\u3040-\u30ff]")
_HAN = re.compile(r"[\u3400-\u9fff]")
_THAI_BREAK = re.compile(r"(?<=[\u0e00-\u0eff]) (?=[\u0e00-\u0eff])")
_SOUTHEAST_ASIAN = re.compile(r"[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff]")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_QUESTION_MARKS = ("?", "؟", ";")  # NFKC folds "？"; Greek asks with ";"
# The lookahead first lets the engine skip to a candidate character (twice as fast).
_SENTENCE_END = re.compile(r"(?=[.!?؟।。！？\n])(?:[.!?؟।]+(?:\s|$)|[。！？]+|\n\s*\n)")
_LIST_ITEM = re.compile(r"^\s*(?:\d{1,2}[.)]|[-*•]|[a-z][.)])\s+\S", re.MULTILINE)
_CHOICE_LINE = re.compile(r"^\s*\(?[A-Da-d][.):]\s+\S", re.MULTILINE)
_CODE_LINE = re.compile(
    r"^(?:\s{2,}|\t)\S|[;{}]\s*$|^\s*(?:def|class|import|from|return|if|for|while|#include|"
    r"function|const|let|var|public|private|fn|func|package|SELECT|select)\b|=>|->|::|==",
    re.MULTILINE,
)
_MATH_SYMBOL = re.compile(r"[=+×÷*/^√∫∑∏≤≥≠≈∞πθλσ∂∇]|\\(?:frac|int|sum|sqrt|lim|mathbb)")
_TRACEBACK = re.compile(r"traceback|exception|error:|stack trace|segmentation fault|panic")
_URL = re.compile(r"https?://")
# Pictographs and the faces people type; not the dingbats (✓ ✗ ★ ☐) of checklists and notes.
_EMOJI = re.compile(r"[\U0001F300-\U0001FAFF\u2639\u263A\u2764]|(?<!\w)(?:[:;]-?[)(DPp]|xd)(?!\w)")
_GREETING_MOST_WORDS = 6  # a sentence this short may be only a greeting
# Words that may stand beside a greeting without asking anything.
_GREETING_FILLER = frozenset(
    (
        *("there", "all", "everyone", "guys", "folks", "friend", "again", "much", "so"),
        *("very", "a", "lot", "lots", "in", "advance", "dear", "team", "buddy", "mate"),
    )
)
# The commonest short words (and greetings) of the languages written in Latin letters: enough
# of each that the words several of them share ("de", "la", "un") do not decide between them.
_FUNCTION_WORDS = {
    code: frozenset(words.split())
    for code, words in {
        "en": "the and is of to in that it for you with are this be on what how can my me",
        "es": "el la los las de que y en un una por para con es del qué cómo se está muy pero "
        "yo tú mi también puedes hola gracias",
        "fr": "le la les des de et est un une du que pour dans pas qui sur au avec je tu il "
        "nous vous mon ma ce cette mais très à où peux bonjour merci en y",
        "de": "der die das und ist nicht ein eine zu mit den von wie ich für auf du mir mein "
        "bitte kannst was hallo danke",
        "it": "il lo la gli di che è un una per non sono con del della come mi ho anche molto "
        "questo puoi mio mia ciao grazie",
        "pt": "o os as de que não um uma para com do da em é como se você meu minha isso muito "
        "também pode olá obrigado",
        "tr": "ve bir bu için ile da de mi ne çok gibi daha ben sen bana misin mısın benim "
        "lütfen merhaba",
        "vi": "và của là có không một những các cho được trong này tôi bạn",
        "sw": "na ya wa kwa ni za katika la hii kama je tafadhali",
    }.items()
}
# Words too common to explain a rating: a reason never names one.
COMMON_WORDS = frozenset().union(*_FUNCTION_WORDS.values())
_SCRIPTS = (
    ("ja", _KANA),
    ("zh", _HAN),
    ("ko", re.compile(r"[\uac00-\ud7af]")),
    ("th", re.compile(r"[\u0e00-\u0e7f]")),
    ("ru", re.compile(r"[\u0400-\u04ff]")),
    ("ar", re.compile(r"[\u0600-\u06ff]")),
    # Devanagari without its "।" and "॥", which Bengali ends its sentences with too.
    ("hi", re.compile(r"[\u0900-\u0963\u0966-\u097f]")),
    ("bn", re.compile(r"[\u0980-\u09ff]")),
    ("te", re.compile(r"[\u0c00-\u0c7f]")),
)


@dataclass(frozen=True)
class _Matcher:
    """Looks concept terms up among a prompt's words, word pairs, stems and unspaced runs."""

    words: dict[str, tuple[str, ...]]
    stems: dict[str, tuple[str, ...]]
    phrases: dict[str, dict[str, tuple[str, ...]]]  # first word → " phrase " → concepts
    unspaced: dict[str, tuple[tuple[str, str], ...]]  # first character → (term, concept)
    languages: dict[str, str]  # term → the first language it is listed under
    stem_lengths: tuple[int, ...]  # the lengths of the stems, so a word is sliced only so often
    stem_heads: frozenset[str]  # their first three letters: most words fail this one lookup

    @classmethod
    def build(cls, concepts: Iterable[Concept]) -> _Matcher:
        words: dict[str, list[str]] = {}
        stems: dict[str, list[str]] = {}
        phrases: dict[str, dict[str, list[str]]] = {}
        unspaced: dict[str, list[tuple[str, str]]] = {}
        languages: dict[str, str] = {}
        for concept in concepts:
            for language, terms in concept.terms.items():
                for term in (t.strip() for t in terms.split(" | ")):
                    languages.setdefault(term, language)
                    # Split as prompts are: "lock-free" is the pair "lock free".
                    parts = [p for p in _TOKEN_SPLIT.split(term.rstrip("*")) if p]
                    if _NO_SPACE_RUN.fullmatch(term):
                        unspaced.setdefault(term[0], []).append((term, concept.name))
                    elif term.endswith("*"):
                        stems.setdefault(term[:-1], []).append(concept.name)
                    elif len(parts) > 1:
                        phrase = f" {' '.join(parts)} "
                        phrases.setdefault(parts[0], {}).setdefault(phrase, []).append(concept.name)
                        languages.setdefault(phrase.strip(), language)
                    elif parts and len(parts[0]) > 1:
                        words.setdefault(parts[0], []).append(concept.name)
                        languages.setdefault(parts[0], language)
        return cls(
            {k: tuple(v) for k, v in words.items()},
            {k: tuple(v) for k, v in stems.items()},
            {k: {p: tuple(n) for p, n in v.items()} for k, v in phrases.items()},
            {k: tuple(v) for k, v in unspaced.items()},
            languages,
            tuple(sorted({len(stem) for stem in stems})),
            frozenset(stem[:3] for stem in stems),
        )

    def find(self, vocabulary: set[str], spaced: str, unspaced: str) -> dict[str, list[str]]:
        """Concept name → the terms of it found (each term once). `spaced`: the prompt's
        words joined by single spaces, with a space at each end."""
        found: dict[str, list[str]] = {}
        for word in vocabulary:
            for term, names in self.terms_of(word, spaced):
                for name in names:
                    found.setdefault(name, []).append(term)
        if unspaced:
            for first in set(unspaced) & self.unspaced.keys():
                for term, name in self.unspaced[first]:
                    if term in unspaced:
                        found.setdefault(name, []).append(term)
        if "greeting" in found and len(found) > 1:
            _greeting_words_apart(found, spaced, unspaced)
        # Sorted: the words came from a set, whose order changes from process to process.
        return {name: sorted(set(terms)) for name, terms in sorted(found.items())}

    def terms_of(self, word: str, spaced: str) -> list[tuple[str, tuple[str, ...]]]:
        """The terms one word matches: itself, phrases it starts that the prompt holds, and
        the stems it starts with (shown with an ellipsis)."""
        hits: list[tuple[str, tuple[str, ...]]] = []
        if names := self.words.get(word):
            hits.append((word, names))
        if starting := self.phrases.get(word):
            hits += [(p.strip(), names) for p, names in starting.items() if p in spaced]
        if word[:3] in self.stem_heads:
            for length in self.stem_lengths:
                if len(word) <= length:
                    break
                if names := self.stems.get(word[:length]):
                    hits.append((word[:length] + "…", names))
        return hits


def _greeting_words_apart(found: dict[str, list[str]], spaced: str, unspaced: str) -> None:
    """Drops from `found` the terms used only inside a greeting: "cómo" of "¿cómo estás?",
    "كيف" of "كيف حالك", "怎么" of "最近怎么样" ("how are you") ask for no explanation."""
    greetings = found["greeting"]
    for name in [n for n in found if n != "greeting"]:
        kept = [t for t in found[name] if not _inside_greeting(t, greetings, spaced, unspaced)]
        if kept:
            found[name] = kept
        else:
            del found[name]


def _inside_greeting(term: str, greetings: list[str], spaced: str, unspaced: str) -> bool:
    """Whether every use of a one-word term lies inside the greeting phrases found."""
    if " " in term:
        return False
    if _NO_SPACE_RUN.fullmatch(term):
        runs = [g for g in greetings if _NO_SPACE_RUN.fullmatch(g)]
        return unspaced.count(term) <= sum(g.count(term) * unspaced.count(g) for g in runs)
    word = f" {term} "
    phrases = [f" {g} " for g in greetings if " " in g]
    return spaced.count(word) <= sum(p.count(word) * spaced.count(p) for p in phrases)


_CONCEPTS = _Matcher.build(CONCEPTS)
_CONSTRAINT = "constraint:"
# Concepts and constraints in one pass over the prompt's words.
_EVERY_TERM = _Matcher.build(
    [*CONCEPTS, *(Concept(_CONSTRAINT + c.name, c.reason, c.terms) for c in CONSTRAINTS)]
)
_NOT_TASKS = frozenset({"greeting", "casual", "brevity", "depth", "scale"})
# Words that start a greeting term (a cheap test before the full one).
_GREETING_WORDS = frozenset(
    term.split()[0]
    for concept in CONCEPTS
    if concept.name == "greeting"
    for terms in concept.terms.values()
    for term in (t.strip() for t in terms.split(" | "))
)
_TASK_WORDS = frozenset(w for w, names in _CONCEPTS.words.items() if set(names) - _NOT_TASKS)
_TASK_STEMS = frozenset(w for w, names in _CONCEPTS.stems.items() if set(names) - _NOT_TASKS)
_TASK_STEM_LENGTHS = tuple(sorted({len(stem) for stem in _TASK_STEMS}))
_TASK_STEM_HEADS = frozenset(stem[:3] for stem in _TASK_STEMS)
_TASK_UNSPACED = re.compile(
    "|".join(
        re.escape(term)
        for terms in _CONCEPTS.unspaced.values()
        for term, name in terms
        if name not in _NOT_TASKS
    )
)
_TASK_FIRST_WORDS = frozenset(
    first
    for first, phrases in _CONCEPTS.phrases.items()
    if any(set(names) - _NOT_TASKS for names in phrases.values())
)
# Sentences end at ".", "?", "؟", the Devanagari and Bengali "।", "。", at a line break, and at
# the space between two Thai sentences (Thai has no full stop): without "।" and the Thai space,
# a whole Bengali or Thai paragraph read as one sentence, an ask if any word of it asked.
_SEGMENT = re.compile(rf"(?<=[.!?;؟।。！？])\s+|(?<=[。！？])|\n+|{_THAI_BREAK.pattern}")
# The same where no "。" is left (NFKC folds "！？"): without the empty match, the engine skips
# to whitespace.
_SEGMENT_SPACED = re.compile(rf"(?=\s)(?:(?<=[.!?;؟।])\s+|\n+|{_THAI_BREAK.pattern})")
_MAX_SEGMENTS = 120
_STORY_LEAST_WORDS = 25  # a word problem with one quantity in digits tells a story this long
_LEADING_SEGMENTS = 8
_PUNCTUATION = string.punctuation + _MARKS
# Words before the verb of an ask that say nothing about it ("please", "can you", "hey").
_FILLER = frozenset(
    (
        *("please", "pls", "plz", "can", "could", "would", "will", "you", "u", "me", "i", "we"),
        *("just", "kindly", "now", "so", "ok", "okay", "hey", "hi", "hello", "and", "then"),
        *("also", "help", "let's", "lets", "quickly", "quick", "go", "ahead"),
        *("por", "favor", "puedes", "podrías", "podrias", "puede", "usted", "te"),
        *("s'il", "vous", "plaît", "peux", "pouvez", "pourriez", "tu"),
        *("bitte", "kannst", "könntest", "können", "sie", "du", "mir"),
        *("пожалуйста", "можешь", "можете", "мне", "ты", "вы"),
        *("per", "favore", "puoi", "potresti", "você", "pode", "poderia"),
        *("lütfen", "bana", "misin", "musun"),
    )
)


@dataclass
class PromptFeatures:
    """What the model reads (`dense`, `hashed`) and what the reasons quote (`evidence`)."""

    dense: dict[str, float] = field(default_factory=dict)
    hashed: dict[int, float] = field(default_factory=dict)
    tokens: dict[int, str] = field(default_factory=dict)  # bucket → a word that hashed there
    evidence: dict[str, list[str]] = field(default_factory=dict)
    language: str = "en"
    units: int = 0  # words, or their equivalent in scripts without spaces
    material_units: int = 0  # of those, the ones around the ask (a paste, a story)
    numbers: frozenset[str] = frozenset()
    number_mentions: int = 0  # numbers in the sample, repeats included
    code_lines: int = 0
    list_items: int = 0
    questions: int = 0


def normalize(prompt: str) -> str:
    """NFKC, every script's digits as ASCII, lowercase, typographic apostrophes plain."""
    text = unicodedata.normalize("NFKC", prompt)
    if not text.isascii():
        if _OTHER_DIGIT.search(text):
            text = text.translate(_DIGITS)
        text = text.replace("\u2019", "'")
    return text.lower()


def sampled(prompt: str) -> str:
    """The prompt, or for a long one its head, evenly spaced pieces of its middle and its tail
    (a line apart): bounded work however long the paste."""
    if len(prompt) <= SAMPLE_LIMIT:
        return prompt
    middle = len(prompt) - SAMPLE_HEAD - SAMPLE_TAIL
    step = middle // (SAMPLE_PIECES + 1)
    pieces = [
        prompt[at : at + SAMPLE_PIECE]
        for at in range(SAMPLE_HEAD + step, SAMPLE_HEAD + middle - SAMPLE_PIECE + 1, step)
    ][:SAMPLE_PIECES]
    return "\n".join((prompt[:SAMPLE_HEAD], *pieces, prompt[-SAMPLE_TAIL:]))


def _bins(name: str, value: float, edges: tuple[float, ...]) -> dict[str, float]:
    """One-hot: `name<=edge` for the first edge the value does not pass, else `name>last`."""
    for edge in edges:
        if value <= edge:
            return {f"{name}<={edge:g}": 1.0}
    return {f"{name}>{edges[-1]:g}": 1.0}


def _units(tokens: list[str], runs: list[str]) -> int:
    """Words, counting runs of the scripts written without spaces at about the characters a
    word takes there (measured on translations of the same prompts): 1.5 for Chinese, 2.4 for
    Japanese, 4.5 for Thai and its neighbours."""
    if not runs:
        return len(tokens)
    chars = "".join(runs)
    southeast = len(_SOUTHEAST_ASIAN.findall(chars))
    east = len(chars) - southeast
    per_word = 2.4 if _KANA.search(chars) else 1.5
    return len(tokens) + round(east / per_word + southeast / 4.5)


def _language(text: str, vocabulary: set[str]) -> str:
    """The prompt's language, for the reasons only (it is no feature of the model): the script
    where it tells, else the language whose commonest words the prompt uses most."""
    if not text.isascii():
        for code, pattern in _SCRIPTS:
            if pattern.search(text):
                return code
    votes = {code: len(vocabulary & words) for code, words in _FUNCTION_WORDS.items()}
    best = max(votes, key=lambda code: (votes[code], code == "en"))
    return best if votes[best] >= 2 and votes[best] > votes["en"] else "en"


def extract(prompt: str) -> PromptFeatures:
    """The features of one prompt; never raises (any str, even NULs or lone surrogates)."""
    features = PromptFeatures()
    if not prompt or prompt.isspace():
        return features
    sample = sampled(prompt)
    # How many times the sample the whole prompt is: counts of structure are scaled by it.
    scale = len(prompt) / len(sample)
    text = normalize(sample)
    raw_tokens = [t for t in _TOKEN_SPLIT.split(text) if t]
    runs = _NO_SPACE_RUN.findall(text) if not text.isascii() else []
    if runs:  # an all-unspaced token is one of the runs (both are maximal)
        run_set = set(runs)
        tokens = [t for t in raw_tokens if t not in run_set]
    else:
        tokens = raw_tokens
    sample_units = _units(tokens, runs)
    features.units = round(sample_units * scale)
    vocabulary = set(tokens)
    found = _EVERY_TERM.find(vocabulary, " " + " ".join(tokens) + " ", "|".join(runs))
    concepts = {k: v for k, v in found.items() if not k.startswith(_CONSTRAINT)}
    constraints = {
        k[len(_CONSTRAINT) :]: _distinct_forms(v)
        for k, v in found.items()
        if k.startswith(_CONSTRAINT)
    }
    features.language = _language(text, vocabulary)
    lines = prompt.count("\n") + 1
    features.dense = _structure(features, text, runs, scale, lines)
    features.dense.update(_tasks(features, text, lines, concepts, constraints))
    features.dense.update(_edges(text, sample_units))
    if _EMOJI.search(text):
        features.dense["emoji"] = 1.0
    features.evidence = {**concepts, **{f"constraint:{k}": v for k, v in constraints.items()}}
    # A maths word problem that asks for a quantity is as hard as its quantities and steps,
    # which the language-free features read in every language; its words (cookies, dollars,
    # trains) only add what the English training prompts happened to say: a translation's
    # rating moved with them. A proof or a question about numbers keeps its words.
    if "word_problem_length" not in features.dense or "quantity" not in concepts:
        _hash_words(features, tokens, runs)
    return features


_FORM_HEAD = 5  # letters that tell word forms apart


def _distinct_forms(terms: list[str]) -> list[str]:
    """One term per word form: "section" and "sections", "start with" and "starting with"
    are one constraint (a translation says it once), told apart by their first letters."""
    heads: set[str] = set()
    kept = []
    for term in terms:
        if term[:_FORM_HEAD] not in heads:
            heads.add(term[:_FORM_HEAD])
            kept.append(term)
    return kept


def _terms(text: str) -> dict[str, list[str]]:
    """The concepts of a normalised piece of text, each with the terms of it found."""
    tokens = [t for t in _TOKEN_SPLIT.split(text) if t]
    runs = _NO_SPACE_RUN.findall(text) if not text.isascii() else []
    return _CONCEPTS.find(set(tokens), " " + " ".join(tokens) + " ", "|".join(runs))


def _is_greeting(clause: str) -> bool:
    """A clause that only greets or thanks ("Hi", "Hey there", "Привет", "Thanks in
    advance"): every word of it a greeting term or a filler word."""
    text = normalize(clause)
    found = _terms(text)
    if set(found) != {"greeting"}:
        return False
    covered = {word for term in found["greeting"] for word in term.split()}
    rest = [
        t
        for t in _TOKEN_SPLIT.split(text)
        if t and t not in covered and t not in _FILLER and t not in _GREETING_FILLER
    ]
    return not rest


_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_EDGE_MOST_WORDS = 60  # an opening or closing paragraph longer than this is material itself
_EDGE_LEAST_MATERIAL = 15  # words between the edges for them to be around a paste


def _text_units(text: str) -> int:
    """Words of a normalised piece of text, or their equivalent in unspaced scripts."""
    runs = _NO_SPACE_RUN.findall(text) if not text.isascii() else []
    run_set = set(runs)
    return _units([t for t in _TOKEN_SPLIT.split(text) if t and t not in run_set], runs)


def _edge_asks(edge: str) -> bool:
    """An opening or closing paragraph that asks about what it frames: short, not code, and
    a question, a task word or a colon introducing the paste."""
    words = _text_units(edge)
    if not words or words > _EDGE_MOST_WORDS or len(_CODE_LINE.findall(edge)) > 1:
        return False
    if edge.rstrip().endswith(":") or "?" in edge:
        return True
    return bool(set(_terms(edge)) - _NOT_TASKS)


def _edges(text: str, total: int) -> dict[str, float]:
    """The ask apart from the pasted material it frames (code, a log, an email, a table):
    where a multi-line prompt opens or closes with a short paragraph (or line) that asks,
    the concepts and length of that ask alone, and the size of what lies between. "What
    language is this?" over 80 lines of code is a short closed ask, whatever the code says.
    `total`: the words of all of `text`, counted once by the caller."""
    paragraphs = [p for p in _PARAGRAPH_BREAK.split(text) if p.strip()]
    if len(paragraphs) < 2:
        lines = [line for line in text.split("\n") if line.strip()]
        if len(lines) < 4:
            return {}
        paragraphs = lines
    head, tail = paragraphs[0], paragraphs[-1]
    asks = [edge for edge in (head, tail) if _edge_asks(edge)]
    ask_words = sum(_text_units(edge) for edge in asks)
    if not asks or total - ask_words < _EDGE_LEAST_MATERIAL:
        return {}
    where = "both" if len(asks) == 2 else "head" if asks[0] is head else "tail"
    dense = {f"edge_ask:{where}": 1.0}
    dense.update(_bins("edge_ask_words", ask_words, (3, 8, 15, 30)))
    dense.update(_bins("edge_material_words", total - ask_words, (40, 120, 400)))
    for edge in asks:
        dense.update((f"edge:{name}", 1.0) for name in _terms(edge) if name != "greeting")
    return dense


def _is_ask(segment: str, tokens: list[str], unspaced: bool) -> bool:
    """A sentence or line that asks for something: a question, or a task word (any language),
    and not a line of code or a table row. `unspaced`: it holds Chinese, Japanese or Thai."""
    if "?" in segment or "؟" in segment:
        return True
    if _CODE_LINE.search(segment) or segment.count("|") > 1 or segment.count(",") > 3:
        return False
    if _has_task_word(tokens):
        return True
    return unspaced and _TASK_UNSPACED.search(segment) is not None


def _has_task_word(tokens: list[str]) -> bool:
    spaced = ""
    for token in tokens:
        if token in _TASK_WORDS:
            return True
        # A phrase's first word asks only with the rest of the phrase: "in" alone is no
        # "in detail", "walk" no "walk me through" (English statements had all read as asks).
        if token in _TASK_FIRST_WORDS:
            spaced = spaced or f" {' '.join(tokens)} "
            if any(set(names) - _NOT_TASKS for _, names in _CONCEPTS.terms_of(token, spaced)):
                return True
        if token[:3] in _TASK_STEM_HEADS:
            for n in _TASK_STEM_LENGTHS:
                if len(token) <= n:
                    break
                if token[:n] in _TASK_STEMS:
                    return True
    return False


def _leading(tokens: list[str], segment: str) -> set[str]:
    """The task a sentence opens or closes with: the verb of an imperative ("Prove that…",
    "Докажите…") or the verb-final ask of Japanese, Korean or Turkish ("…を証明してください")."""
    words = [t for t in tokens if t not in _FILLER]
    spaced = f" {' '.join(words)} "
    found: set[str] = set()
    # A phrase counts where its first word opens or closes the sentence ("How many…"), as a
    # single word does in the languages that say it in one ("¿Cuántos…", "Сколько…").
    for token in (*words[:2], *words[-2:]):
        hits = _CONCEPTS.terms_of(token, spaced)
        greetings = [term for term, names in hits if "greeting" in names]
        found.update(
            name
            for term, names in hits
            if not greetings or not _inside_greeting(term, greetings, spaced, "")
            for name in names
        )
    if not segment.isascii():
        tail = segment.rstrip()[-12:]
        in_tail = [
            (term, name)
            for first in set(tail) & _CONCEPTS.unspaced.keys()
            for term, name in _CONCEPTS.unspaced[first]
            if term in tail
        ]
        greetings = [term for term, name in in_tail if name == "greeting"]
        found.update(
            name
            for term, name in in_tail
            if not greetings or not _inside_greeting(term, greetings, "", tail)
        )
    return found - _NOT_TASKS


@dataclass(frozen=True)
class _Asks:
    ask_units: int
    material_units: int
    leading: frozenset[str]


def _asks(text: str, units: int) -> _Asks:
    """Words of the ask (sentences that ask) and of the material around it (pasted code, a
    log, a story: a long paste with "what language is this?" has a short ask), and the tasks
    the asking sentences lead with."""
    segments = (_SEGMENT if "。" in text else _SEGMENT_SPACED).split(text)
    if len(segments) > _MAX_SEGMENTS:
        keep = _MAX_SEGMENTS // 2
        segments = segments[:keep] + segments[-keep:]
    total = ask = 0
    asking: list[tuple[list[str], str]] = []
    last: tuple[list[str], str] | None = None
    for segment in segments:
        # Whitespace words with their punctuation trimmed: str.split is several times faster
        # than the token regex, and only whole task words matter here.
        tokens = [t for t in (w.strip(_PUNCTUATION) for w in segment.split()) if t]
        if not tokens or (
            len(tokens) <= _GREETING_MOST_WORDS
            and not _GREETING_WORDS.isdisjoint(tokens)
            and _is_greeting(segment)
        ):
            continue  # a greeting is neither the ask nor material around it
        unspaced = not segment.isascii() and _NO_SPACE_RUN.search(segment) is not None
        # A Japanese or Chinese sentence is one whitespace token: it weighs its words.
        last_size = max(1, _text_units(segment)) if unspaced else len(tokens)
        total += last_size
        last = (tokens, segment)
        if _is_ask(segment, tokens, unspaced):
            ask += last_size
            asking.append(last)
    # Every prompt asks something: where no sentence says what (a task word the table lacks in
    # that language, an imperative without one), the last sentence is the ask.
    if not asking and last is not None:
        ask = last_size
        asking.append(last)
    # The ask that leads sits in the first sentences or the last ones.
    if len(asking) > 2 * _LEADING_SEGMENTS:
        asking = asking[:_LEADING_SEGMENTS] + asking[-_LEADING_SEGMENTS:]
    leading: set[str] = set()
    for tokens, segment in asking:
        leading |= _leading(tokens, segment)
    ask_units = round(units * ask / total) if total else units
    return _Asks(ask_units, units - ask_units, frozenset(leading))


def _structure(
    features: PromptFeatures, text: str, runs: list[str], scale: float, lines: int
) -> dict[str, float]:
    """Language-free structure: length, questions, sentences, numbers, code, maths, lists."""
    units = features.units
    dense: dict[str, float] = {"length": math.log1p(units) / math.log(1000)}
    dense.update(_bins("words", units, (2, 5, 12, 30, 80, 200, 500)))
    features.questions = sum(text.count(mark) for mark in _QUESTION_MARKS)
    dense.update(_bins("questions", features.questions, (0, 1, 2, 4)))
    sentences = len(_SENTENCE_END.findall(text))
    if runs and _SOUTHEAST_ASIAN.search(text):  # Thai and Lao end a sentence with a space
        sentences += len(_THAI_BREAK.findall(text))
    dense.update(_bins("sentences", round(sentences * scale) + 1, (1, 2, 4, 8)))
    mentions = _NUMBER.findall(text)
    features.numbers = frozenset(mentions)
    features.number_mentions = len(mentions)
    dense.update(_bins("numbers", len(features.numbers), (0, 1, 2, 4, 7)))
    features.code_lines = round(len(_CODE_LINE.findall(text)) * scale)
    dense.update(_bins("code_lines", features.code_lines, (0, 2, 8, 30)))
    flags = {
        "code_fence": "```" in text,
        "error_output": _TRACEBACK.search(text) is not None,
        "multiple_choice": len(_CHOICE_LINE.findall(text)) >= 3,
        "url": "://" in text and _URL.search(text) is not None,
    }
    dense.update((name, 1.0) for name, present in flags.items() if present)
    math_symbols = round(len(_MATH_SYMBOL.findall(text)) * scale)
    dense.update(_bins("math_symbols", math_symbols, (0, 2, 6, 15)))
    features.list_items = round(len(_LIST_ITEM.findall(text)) * scale)
    dense.update(_bins("list_items", features.list_items, (0, 2, 5, 10)))
    dense.update(_bins("lines", lines, (1, 3, 10, 40)))
    return dense


def _tasks(
    features: PromptFeatures,
    text: str,
    lines: int,
    concepts: dict[str, list[str]],
    constraints: dict[str, list[str]],
) -> dict[str, float]:
    """What the prompt asks for, how long the ask is against the material around it, and its
    constraints; `features` already holds the structure's counts."""
    asks = _asks(text, features.units)
    code_lines, items = features.code_lines, features.list_items
    pasted = lines >= 8 and (code_lines >= 3 or items >= 5 or lines >= 15)
    # A word problem: several quantities and an ask to work one out, in prose, not a quiz. One
    # quantity in digits is enough in a story that asks "how many": English spells most of them
    # out ("three times as many", "half") where a Japanese translation writes digits.
    numbers = len(features.numbers)
    word_problem = (
        (
            numbers >= 2
            or (numbers == 1 and "quantity" in concepts and features.units >= _STORY_LEAST_WORDS)
        )
        and code_lines < 2
        and "multiple_choice" not in features.dense
        and ("quantity" in concepts or features.questions > 0)
    )
    # Its statements are what is asked about, not material around the ask: all of it asks.
    ask = features.units if word_problem else asks.ask_units
    features.material_units = features.units - ask
    dense = {f"leads:{name}": 1.0 for name in sorted(asks.leading)}
    dense.update(_bins("ask_words", ask, (0, 3, 8, 15, 30, 60, 150)))
    dense.update(_bins("material_words", features.material_units, (0, 10, 40, 120, 400)))
    # The shortest 29 % of English training prompts' asks and the longest 12 % (the shares the
    # limits 12 and 80 cut before "in" and "was" stopped making every sentence an ask).
    reach = "short" if ask <= 7 else "long" if ask > 37 else "medium"
    tasks = [n for n in concepts if n not in _NOT_TASKS]
    for name, terms in concepts.items():
        if name == "greeting" and tasks:
            continue  # a greeting before or after a task is not the ask (the task decides)
        dense[f"asks:{name}"] = 1.0
        dense[f"asks:{name}&{reach}"] = 1.0
        if len(terms) > 1:
            dense[f"asks:{name}:repeated"] = 1.0
        if pasted:
            dense[f"asks:{name}&pasted"] = 1.0
    marks = {
        "asks:design&scale": "design" in concepts and "scale" in concepts,
        f"greeting_without_task&{reach}": "greeting" in concepts and not tasks,
        f"no_known_task_word&{reach}": not tasks,
        f"no_task_no_question&{reach}": not tasks and not features.questions,
        "pasted_block": pasted,
    }
    dense.update((name, 1.0) for name, present in marks.items() if present)
    if word_problem:
        dense.update(_bins("word_problem_numbers", numbers, (2, 3, 4, 5, 6, 8)))
        dense["word_problem_length"] = math.log1p(features.units) / math.log(1000)
        # Every mention, repeats included: a quantity used twice is often a step more.
        dense["word_problem_mentions"] = float(features.number_mentions)
    constraint_terms = sum(len(terms) for terms in constraints.values())
    dense.update(_bins("constraints", constraint_terms, (0, 1, 2, 3, 4, 6)))
    dense.update(_bins("constraint_kinds", len(constraints), (0, 1, 2, 3)))
    return dense


def _hash_words(features: PromptFeatures, tokens: list[str], runs: list[str]) -> None:
    """Words, word pairs and long-word stems; character pairs for unspaced scripts. Each
    present feature weighs 1/sqrt(count), so a long prompt does not outweigh a short one."""
    grams: dict[str, None] = {}  # ordered and distinct
    previous = ""
    for token in tokens:
        if token.isdigit():
            previous = ""
            continue
        grams[token] = None
        if len(token) > 6:
            grams[token[:5] + "~"] = None
        if previous:
            grams[f"{previous} {token}"] = None
        previous = token
        if len(grams) >= _MAX_GRAMS:
            break
    for run in runs:
        # Pairs in chunks of what is still missing: a long run stops once the grams are full.
        start, end = 0, max(1, len(run) - 1)
        while start < end and len(grams) < _MAX_GRAMS:
            stop = min(end, start + _MAX_GRAMS - len(grams))
            grams.update(dict.fromkeys(run[i : i + 2] for i in range(start, stop)))
            start = stop
    if not grams:
        return
    distinct = list(grams)[:_MAX_GRAMS]
    value = 1.0 / math.sqrt(len(distinct))
    hashed = features.hashed
    names = features.tokens
    for gram in distinct:
        index = zlib.crc32(gram.encode("utf-8", "surrogatepass")) & HASH_MASK
        hashed[index] = value
        names.setdefault(index, gram)
