"""Rates how hard a prompt is, so that the selector can send it to a model big enough for it.

No model call: keyword rules feed weighted signals into one score, and the score is rounded onto
the `Complexity` scale. The base of the score is the hardest task the prompt asks for (anywhere
in it, not only at the start); length, sub-tasks, constraints, code, maths, jargon and modifiers
move it up or down from there. Mistakes are not symmetric: a hard prompt sent to a 0.5B model
fails outright while an easy one sent to a 7B model only costs time, so conflicting signals
resolve upward and the downward ones are capped.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass

from bizra_desktop.core.tiers import Complexity

# Rules see at most this much of the text: a 1 MB paste is as hard as its ask, which sits at the
# start or the end. Words are still counted over the whole prompt.
_SCAN_HEAD = 4000
_SCAN_TAIL = 2000

# Score → complexity: below 0.5 trivial, below 1.5 simple, below 2.5 moderate, below 3.75
# complex. The last step is wider so that a complex task with one extra signal stays complex.
_THRESHOLDS = (0.5, 1.5, 2.5, 3.75)


@dataclass(frozen=True)
class Analysis:
    """A prompt's rating and why."""

    complexity: Complexity
    score: float  # the continuous difficulty behind the rating (for diagnostics)
    reasons: tuple[str, ...]  # the signals that decided it, most decisive first


# Speed. Python's re searches fast only for a pattern that starts with one literal string; an
# alternation or a leading \b makes it try every position (~7 ns a character, times hundreds of
# phrases). So every phrase is its own regex and starts with a literal, its leading word is
# checked in `_Phrase.matches` instead of with \b, and it runs only when that word (its first
# five letters, its whole self if shorter) is among the prompt's words, split out once. A phrase
# that starts with a symbol or a one-letter word, or in a script written without spaces, always
# runs. Text is lowercased before matching.
_KEY_LEN = 5
_KEYED_WORD = re.compile(r"[a-z\u00c0-\u024f\u0400-\u04ff][a-z0-9\u00c0-\u024f\u0400-\u04ff]+")
_SEPARATORS = "'/()[]{},.:;?!\"`*#=<>\\|+%$^&"


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"


@dataclass(frozen=True)
class _Phrase:
    key: str | None
    pattern: re.Pattern[str]

    def matches(self, text: str) -> Iterator[re.Match[str]]:
        """Matches in order; for a keyed phrase, only those that start a word."""
        for match in self.pattern.finditer(text):
            start = match.start()
            if self.key is None or start == 0 or not _is_word(text[start - 1]):
                yield match


def _phrase(pattern: str) -> _Phrase:
    key = None
    if word := _KEYED_WORD.match(pattern):
        leading = word.group()
        if pattern[word.end() : word.end() + 1] in ("?", "*"):  # its last letter is optional
            leading = leading[:-1]
        key = leading[:_KEY_LEN] if len(leading) > 1 else None
    return _Phrase(key, re.compile(pattern, re.MULTILINE))


@dataclass(frozen=True)
class _Rule:
    weight: float
    reason: str
    phrases: tuple[_Phrase, ...]

    def find(self, text: str, keys: set[str]) -> re.Match[str] | None:
        return next(_matches(self.phrases, text, keys), None)


def _matches(phrases: tuple[_Phrase, ...], text: str, keys: set[str]) -> Iterator[re.Match[str]]:
    for phrase in phrases:
        if phrase.key is None or phrase.key in keys:
            yield from phrase.matches(text)


def _phrases(*alternatives: str) -> tuple[_Phrase, ...]:
    """Phrases written as "phrase | phrase | ..." (the spaces around the bar separate them)."""
    return tuple(_phrase(p) for text in alternatives for p in text.split(" | "))


def _rule(weight: float, reason: str, *alternatives: str) -> _Rule:
    return _Rule(weight, reason, _phrases(*alternatives))


def _each(verbs: str, rest: str) -> str:
    """One phrase per verb: an alternation of verbs would not start with a literal."""
    return " | ".join(verb + rest for verb in verbs.split())


_Signal = tuple[float, str]  # (weight, reason)

_DETERMINER = r"(?:a|an|the|my|our|your|its|this|that|some|me)\b"
_SYSTEM = (
    r"(?:[\w,-]+\s+){0,5}(?:system|platform|protocol|compiler|interpreter|engine|kernel"
    r"|key-value store|framework|infrastructure|(?:consensus|database|crypto\w*) library)\b"
    r"(?![ -](?:call|file|prompt|requirements?))"
)
_SAME_SENTENCE = r"\b[^.?!\n]{0,50}\b"

# What the prompt asks for, by level. The hardest ask found is the base of the score.
# Non-English verbs cover the commonest ways to ask.
_TASKS: tuple[_Rule, ...] = (
    _rule(
        4.0,
        "asks for a design",
        rf"design(?:ing)? {_DETERMINER} | redesign {_DETERMINER} | system design\b | design doc"
        r" | concevoir\b | diseñ(?:a|ar)\b | entwirf\b | entwerfen\b",
    ),
    _rule(
        4.0,
        "asks for an architecture",
        r"architect(?:ing)? (?:a|an|the|my|our)\b | target architecture\b",
        _each("create plan propose sketch draft detailed full", rf"{_SAME_SENTENCE}architecture\b"),
    ),
    _rule(
        4.0,
        "asks for a proof",
        r"prove\b | proofs?\b(?![- ]of[- ](?:concept|work|stake|authority|purchase|address))"
        r" | démontre[rz]?\b",
    ),
    _rule(
        4.0,
        "asks for a strategy",
        r"formulate\b",
        _each("develop devise create craft build propose define", rf"{_SAME_SENTENCE}strateg"),
    ),
    _rule(
        4.0,
        "asks to build a system",
        _each("build implement create develop engineer write", rf"\s+{_DETERMINER}\s+{_SYSTEM}"),
    ),
    _rule(
        4.0,
        "asks for research-grade work",
        r"research (?:plan|proposal|agenda)\b | novel (?:approach|method|algorithm)\b"
        r" | white ?paper\b | threat model\b | migration plan\b | scaling plan\b"
        r" | disaster recovery plan\b | plan (?:to|for) (?:migrat|scal|re-?architect)",
    ),
    _rule(3.0, "asks for an analysis", r"analy[sz](?:e|es|ed|ing)\b | analys[ie]s\b | anali[sz]"),
    _rule(
        3.0,
        "asks for an evaluation",
        r"evaluat(?:e|es|ing)\b | assess(?:es|ing)?\b | critiqu(?:e|ing)\b | critically\b",
    ),
    _rule(
        3.0,
        "asks to debug",
        r"debug(?:ging)?\b | troubleshoot | find (?:the|a|any) bugs?\b"
        r" | point out (?:the )?(?:bugs|issues|problems|errors)\b"
        r" | fix (?:it|(?:my|this|the) (?:code|bug|issue|problem|error))\b"
        r" | what (?:could|might|would) (?:be )?caus | root cause\b"
        r" | why (?:is|does|do|did|are|isn't|doesn't|won't|can't) (?:my|our)\b",
    ),
    _rule(3.0, "asks for a diagnosis", r"diagnos"),
    _rule(
        3.0,
        "asks to optimize",
        r"optimi[sz](?:e|es|ing|ation)\b | refactor | speed (?:it |this )?up\b",
    ),
    _rule(3.0, "asks for a derivation", r"deriv(?:e|es|ing|ation)\b"),
    _rule(
        3.0,
        "asks for a review",
        r"review (?:this|the|my|our)\b | audit (?:this|the|my|our)\b | code review\b",
    ),
    _rule(
        3.0,
        "asks for reasoning",
        r"interpret\b | justify\b | determine (?:whether|if)\b | implications?\b"
        r" | arguments? (?:for and against|on both sides)\b | argue\b | steel-?man\b",
    ),
    _rule(
        2.0,
        "asks for an explanation",
        r"explain | elaborate\b | expli(?:que|quer|ca|car)\b | erklär | spiega | объясни | 解释"
        r" | 説明",
    ),
    _rule(
        2.0,
        "asks for a description",
        r"describ | outline\b | walk me through\b | discuss | illustrate\b | overview\b"
        r" | tell me (?:about|everything about|more about)\b | lay out\b | break down\b",
    ),
    _rule(
        2.0,
        "asks for a comparison",
        r"compar(?:e|es|ing|ison)\b | differences? between\b | pros and cons\b"
        r" | advantages and disadvantages\b | versus\b | vs\.?\s",
    ),
    _rule(
        2.0,
        "asks for a summary or rewrite",
        r"summar(?:y|ize|ise|izing|ising)\b | paraphrase\b | rewrite\b | rephrase\b"
        r" | proofread\b | translate (?:this|the following|these)\b",
    ),
    _rule(
        2.0,
        "asks how or why",
        r"how (?:does|do|did|can|could|would|should|is|are|was|were|to)\b(?! you say) | why\b"
        r" | comment fonctionne | cómo funciona | wie funktioniert | как работает | почему"
        r" | 为什么 | 如何 | 怎么",
    ),
    _rule(
        2.0,
        "asks to write or create something",
        _each("write draft compose implement create generate", r"\b"),
    ),
    _rule(
        2.0,
        "asks for a plan",
        _each(
            "give suggest propose recommend plan put",
            rf"{_SAME_SENTENCE}(?:itinerary|plan|schedule|menu|programme|routine|curriculum"
            r"|budget)\b",
        ),
    ),
    _rule(
        2.0,
        "asks to calculate or solve",
        _each("estimate calculate compute solve", r"\b"),
        r"work out\b | convert (?:this|the following)\b",
    ),
    _rule(
        2.0,
        "asks for causes or effects",
        r"what (?:are|were) the (?:main |key |major )?(?:causes|benefits|reasons|effects"
        r"|consequences|risks|advantages)\b | causes of\b",
    ),
    _rule(
        2.0,
        "asks for advice or a hypothetical",
        r"should (?:i|we)\b | is it (?:better|worth|wise)\b | what (?:would|will) happen\b"
        r" | what if\b | what are (?:my|our) options\b | feedback on\b | advice on\b"
        r" | improve (?:my|this|our)\b",
    ),
    _rule(
        1.0,
        "factual question",
        r"what(?:'s| is| are| was| were| does| do)\b | whats\b"
        r" | who(?:'s| is| was| are| were| wrote| painted| invented| discovered| founded)\b"
        r" | when (?:is|was|did|were|does)\b | where (?:is|are|was|were|do|does|can)\b"
        r" | which\b | qu'est-ce que\b | qué es\b | que es\b | was ist\b | cos'è | что такое",
    ),
    _rule(
        1.0,
        "asks for a definition",
        r"defin(?:e|ition)\b | meaning of\b | stand for\b | synonyms?\b | antonyms?\b"
        r" | rhymes?\b | spell\b",
    ),
    _rule(1.0, "asks for a list", r"list\b | name (?:a|an|one|two|three|four|five|some|the|\d+)\b"),
    _rule(
        1.0,
        "asks for a quantity",
        r"how (?:many|much|old|far|long|tall|big|fast|often)\b | how do you say\b",
    ),
    _rule(1.0, "asks for a conversion or translation", r"convert\b | translate\b"),
    _rule(
        1.0,
        "light request",
        r"tell me (?:a|an|some) (?:joke|fun fact|fact|riddle)\b | recommend\b | suggest\b"
        r" | joke\b",
    ),
)

# Greetings, thanks and small talk in the languages users most often type them in. In a short
# prompt they are cut out before task verbs are looked for ("what's up" is not "what is"), and a
# short prompt that is nothing else is trivial. CJK and Arabic have no word boundaries around
# them, hence two parts.
_SMALL_TALK = re.compile(
    r"\b(?:hello|hi|hey|hiya|howdy|yo|greetings|good (?:morning|afternoon|evening|night|day)"
    r"|thanks?(?: you)?(?: (?:so|very) much| a lot)?|thx|ty|cheers|bye|goodbye|see (?:you|ya)"
    r"(?: later| soon)?|how are you(?: doing)?|how's it going|how are things|what's up|wassup|sup"
    r"|are you there|nice to meet you|who are you|you're (?:welcome|the best|great|awesome)"
    r"|no problem|ok(?:ay)?|cool|great|perfect|awesome|nice|got it|sounds good|that worked"
    r"|lol|haha|sure|yes|yep|nope|again|there|bot|partner|hola|qué tal|gracias|adiós"
    r"|buen(?:os|as) (?:días|dias|tardes|noches)|bonjour|bonsoir|salut|ça va|merci(?: beaucoup)?"
    r"|au revoir|hallo|guten (?:morgen|tag|abend)|wie geht's|(?:vielen )?dank(?:e(?: schön)?)?"
    r"|tschüss|ciao|buongiorno|come stai|grazie|olá|oi|tudo bem|obrigad[oa]|привет"
    r"|здравствуйте|как дела|спасибо|пока|namaste|merhaba|selam|teşekkürler|shalom|hej|hei"
    r"|jambo)\b"
    r"|你好|您好|谢谢|再见|こんにちは|こんばんは|おはよう|ありがとう|안녕하세요|감사합니다"
    r"|مرحبا|السلام عليكم|شكرا|नमस्ते|שלום|👋"
)
_SMALL_TALK_MAX_WORDS = 12
_SMALL_TALK_LEFTOVER = 3  # words a greeting may carry and stay trivial ("good evening, bot")
_WORD = re.compile(r"\w+")

# Code in the prompt: the model must read it, and anything about code needs at least a
# moderate model.
_CODE = _rule(
    0.4,
    "contains code",
    r"``` | `[^`\n]+` | => | #include | \n    \S | \n\t\S | ;[ \t]*$ | \{[ \t]*$ | </?[a-z]+>"
    r" | def \w+\( | function\s*\w*\( | import \w+ | regex | regular expressions?\b"
    r" | select [\w.*]+(?:\s*,\s*[\w.()*]+)*\s+from\s+\w+",
)
_CODE_FLOOR = 2.0

# Each adds its weight once when found.
_FLAGS: tuple[_Rule, ...] = (
    _rule(
        0.5,
        "stack trace or error output",
        # "KeyError:" is found from its colon, which needs no word boundary.
        r"traceback \(most recent call last\) | panicked at | segmentation fault | core dumped"
        r" | :(?<=error:) | :(?<=exception:) | \n\s+at [\w.$<>]+\(",
    ),
    _rule(
        0.4,
        "maths",
        r"\\(?:frac|int|sum|sqrt|lim|partial|mathbb|begin)\b | \^\d | \$[^$\n]{1,60}\$"
        r" | ∫ | ∑ | ∏ | √ | ∂ | ∇ | ≤ | ≥ | ≠ | ∞ | dx\b | dy\b | dt\b | integrals?\b"
        r" | derivatives?\b | eigen | equations?\b | matri(?:x|ces)\b | converge | polynomial"
        r" | extrema\b | inflection\b",
    ),
    _rule(
        0.3,
        "large scale",
        r"millions?\b | billions?\b | thousands\b | per second\b | rps\b | qps\b | tb\b | pb\b"
        r" | across (?:\w+ )?(?:regions|continents|data cent(?:er|re)s)\b"
        r" | k\b(?<=\dk) | m\b(?<=\dm)",  # "100k users", "500M rows"
    ),
)

# Explicit requirements the answer must meet: each distinct one adds weight.
_CONSTRAINT_WEIGHT = 0.25
_CONSTRAINTS_CAP = 0.75
_UNITS = r"[\s-]*(?:words?|sentences?|paragraphs?|lines|characters|bullet points)\b"
_CONSTRAINTS: tuple[_Rule, ...] = (
    _rule(_CONSTRAINT_WEIGHT, "must", r"must\b"),
    _rule(_CONSTRAINT_WEIGHT, "without", r"without\b"),
    _rule(
        _CONSTRAINT_WEIGHT,
        "bound",
        r"at most\b | at least\b | no more than\b | no less than\b | less than\b"
        r" | fewer than\b | under \$?\d | within \d",
    ),
    _rule(_CONSTRAINT_WEIGHT, "complexity bound", r"o\((?<!\wo\()[^)\n]{1,20}\)"),  # O(n log n)
    _rule(
        _CONSTRAINT_WEIGHT,
        "length limit",
        _each("in under within than about exactly maximum", rf" \d+{_UNITS}"),
        r"-word\b(?<=\d-word)",
    ),
    _rule(
        _CONSTRAINT_WEIGHT,
        "latency or availability target",
        r"p95\b | p99\b | 99\.9+% | ms\b(?<=\d ms)",
    ),
)

# Words that say how much answer is wanted.
_MODIFIERS: tuple[_Rule, ...] = (
    _rule(
        0.5,
        "asks for depth",
        r"in[ -]depth\b | in detail\b | detailed\b | thorough(?:ly)?\b | comprehensive\b",
    ),
    _rule(
        0.4,
        "asks for every step",
        r"step[ -]by[ -]step\b | each step\b | show your work | showing your work",
    ),
    _rule(0.4, "asks for trade-offs", r"trade-?offs?\b"),
    _rule(
        0.5,
        "production-grade",
        r"production[ -](?:grade|ready|quality)\b | enterprise[ -]grade\b | at scale\b"
        r" | scalable\b | fault[ -]tolerant\b | high[ -]availability\b",
    ),
    _rule(
        0.5,
        "asks for rigour",
        r"rigorous(?:ly)?\b | formal(?:ly)? (?:proof|argument|model|semantics|verification)"
        r" | formally\b | from first principles\b",
    ),
    _rule(0.4, "asks for edge cases", r"edge cases?\b | corner cases?\b"),
    _rule(
        -0.5,
        "asks for a brief answer",
        r"brief(?:ly)?\b | in (?:one|a single|a few) (?:word|sentence|line)s?\b | short answer"
        r" | tl;?dr\b | tldr\b | quick(?:ly)?\b",
    ),
    _rule(
        -0.4,
        "asks for simple terms",
        r"in simple terms\b | simply\b | eli5\b | like i'm (?:five|5)\b | yes or no\b",
    ),
)
_DOWN_CAP = -0.9  # a "briefly" never takes an expert task below complex

# Jargon of fields where small models are unreliable; each distinct term adds a little. A word
# matches a stem it starts with; stems shorter than four letters must match the whole word.
_DOMAIN_STEMS = (
    "lock-free wait-free black-scholes man-in-the-middle zero-knowledge double-entry p-value "
    "pci-dss np-hard multi-region fine-tun consensus paxos raft shard replica partition "
    "idempoten kafka kubernetes microservice balancer limiter byzantine distributed lockless "
    "deadlock mutex semaphore concurren multithread reclamation garbage jvm compiler soundness "
    "calculus undecidab halting complexity quicksort heap encrypt cryptograph secrecy hmac "
    "elliptic tls mitm replay authenticat oauth indemnif liabilit jurisdiction patent gpl tort "
    "statute plaintiff gdpr compliance negligen lessee lessor landlord tenan lawsuit legal "
    "troponin myocard contraindicat dosage anticoagul patient inr pharmacokinet itô "
    "hedg volatil mortgage amortiz ledger bookkeeping reconcil regression backprop gradient "
    "lstm transformer overfit regulariz precision pytorch tensorflow retrieval embedding "
    "renormaliz quantum relativity hamiltonian lagrangian lebesgue measurable hilbert manifold "
    "topolog stochastic markov bayesian convex proxy cdn caching postgres mysql oracle "
    "cassandra schema latency throughput failover trading regulat runway churn cac ltv b2b b2c "
    "valuation gödel incompleteness epistemolog consciousness chromodynamics gauge allocat "
    "colouring coloring x86 ssa scaling scalab"
)


def _index_by_prefix(stems: list[str]) -> dict[str, tuple[str, ...]]:
    return {p: tuple(s for s in stems if s[:4] == p) for p in {s[:4] for s in stems}}


_DOMAIN_INDEX = _index_by_prefix(_DOMAIN_STEMS.split())
_DOMAIN_WEIGHT = 0.2
_DOMAIN_CAP = 1.0

# Several asks in one prompt: a second verb joined to the first, sequencing words, extra
# question marks, list items. Counted outside code blocks, whose punctuation means nothing here.
_ASK_VERBS = (
    r"\s+(?:then\s+)?(?:explain|describe|compare|analy[sz]e|evaluate|assess|prove|derive"
    r"|discuss|show|justify|recommend|propose|design|implement|write|list|give|flag|sketch"
    r"|find|identify|estimate|calculate|test|how|why|what)\b"
)
_SEQUENCE = _phrases(
    _each("and then also", _ASK_VERBS), rf"as well as{_ASK_VERBS} | after that\b | ;(?![ \t]*$)"
)
_LIST_ITEM = re.compile(r"\n\s*(?:\d+[.)]|[-*•])\s+\S")  # searched in "\n" + text
_CODE_BLOCK = re.compile(r"```[\s\S]*?```")
_SUBTASK_WEIGHT = 0.3
_SUBTASK_CAP = 1.2

# (minimum words, weight): long prompts carry more context to hold and more to answer.
_LENGTH_STEPS = ((600, 1.0), (250, 0.75), (100, 0.5), (40, 0.25))

# Without a task verb: a short prompt is taken as a lookup; a longer one sits between simple and
# moderate and rounds up, rather than risk under-rating an ask phrased in a way no rule knows.
_PLAIN_SHORT = 1.0
_PLAIN_LONG = 1.5
_SHORT_QUESTION_WORDS = 15  # a question may run longer than a request and still be a lookup
_SHORT_REQUEST_WORDS = 6


class TaskAnalyzer:
    """Rates a prompt's complexity from its text alone; deterministic and stateless."""

    def analyze(self, prompt: str) -> Analysis:
        words = len(prompt.split())
        if words == 0:
            return Analysis(Complexity.TRIVIAL, 0.0, ("empty prompt",))
        text = _scanned(prompt).lower().replace("\u2019", "'")
        vocabulary = _vocabulary(text)
        keys = {word[:_KEY_LEN] for word in vocabulary}
        # Only closed code blocks are cut: an unclosed fence must not hide the ask after it.
        prose = _CODE_BLOCK.sub(" ", text) if "```" in text else text
        if words <= _SMALL_TALK_MAX_WORDS:
            prose = _SMALL_TALK.sub(" ", prose)

        tasks = [(rule, m) for rule in _TASKS if (m := rule.find(prose, keys))]
        if not tasks and words <= _SMALL_TALK_MAX_WORDS:
            leftover = len(_WORD.findall(prose))
            greeting = _SMALL_TALK.search(text)
            if leftover == 0 or (greeting and leftover <= _SMALL_TALK_LEFTOVER):
                what = f"greeting or small talk ('{_quote(greeting)}')" if greeting else "no words"
                return Analysis(Complexity.TRIVIAL, 0.0, (what,))

        signals = [_task_signal(tasks, prose, words), *_structure_signals(text, prose, keys)]
        code = _CODE.find(text, keys)
        found = [(_CODE, code), *((rule, rule.find(text, keys)) for rule in _FLAGS)]
        signals += [(rule.weight, f"{rule.reason} ('{_quote(m)}')") for rule, m in found if m]
        signals += _wording_signals(text, vocabulary, keys)
        for min_words, weight in _LENGTH_STEPS:
            if words >= min_words:
                signals.append((weight, f"long prompt ({words} words)"))
                break

        # A real ask is never trivial, and code needs at least a moderate model.
        score = max(sum(weight for weight, _ in signals), _CODE_FLOOR if code else 1.0)
        signals.sort(key=lambda s: -abs(s[0]))
        complexity = Complexity(bisect_right(_THRESHOLDS, score))
        return Analysis(complexity, round(score, 3), tuple(reason for _, reason in signals))


def _scanned(prompt: str) -> str:
    if len(prompt) <= _SCAN_HEAD + _SCAN_TAIL:
        return prompt
    return f"{prompt[:_SCAN_HEAD]}\n{prompt[-_SCAN_TAIL:]}"


def _vocabulary(text: str) -> set[str]:
    """The distinct words; a hyphenated word counts whole ("lock-free") and as its parts."""
    # str.replace per separator is several times faster than a regex split or str.translate.
    for separator in _SEPARATORS:
        text = text.replace(separator, " ")
    words = set(text.split())
    if "-" in text:
        words.update(part for word in words.copy() if "-" in word for part in word.split("-"))
    return words


def _quote(match: re.Match[str]) -> str:
    return " ".join(match.group().split())[:30]


def _task_signal(tasks: list[tuple[_Rule, re.Match[str]]], prose: str, words: int) -> _Signal:
    """The hardest ask found, or a default from the prompt's shape when no task verb is known."""
    if tasks:
        rule, match = max(tasks, key=lambda t: t[0].weight)
        return rule.weight, f"{rule.reason} ('{_quote(match)}')"
    question = "?" in prose
    kind = "question" if question else "request"
    if words <= (_SHORT_QUESTION_WORDS if question else _SHORT_REQUEST_WORDS):
        return _PLAIN_SHORT, f"short {kind}"
    return _PLAIN_LONG, f"long {kind} without a known task verb"


def _structure_signals(text: str, prose: str, keys: set[str]) -> list[_Signal]:
    """Sub-tasks and explicit constraints."""
    signals = []
    subtasks = sum(1 for _ in _matches(_SEQUENCE, prose, keys))
    subtasks += max(0, prose.count("?") - 1)
    if "\n" in text and (items := len(_LIST_ITEM.findall("\n" + _CODE_BLOCK.sub(" ", text)))) > 1:
        subtasks += items
    if subtasks:
        weight = min(_SUBTASK_CAP, _SUBTASK_WEIGHT * subtasks)
        signals.append((weight, f"{subtasks + 1} sub-tasks"))
    constraints = [m for rule in _CONSTRAINTS if (m := rule.find(text, keys))]
    if constraints:
        quoted = ", ".join(f"'{_quote(m)}'" for m in constraints)
        weight = min(_CONSTRAINTS_CAP, _CONSTRAINT_WEIGHT * len(constraints))
        signals.append((weight, f"explicit constraints ({quoted})"))
    return signals


def _wording_signals(text: str, vocabulary: set[str], keys: set[str]) -> list[_Signal]:
    """Domain jargon, and the modifiers that ask for more or less."""
    signals = []
    terms = sorted(
        {
            stem
            for word in vocabulary
            for stem in _DOMAIN_INDEX.get(word[:4], ())
            if word.startswith(stem)
        }
    )
    if terms:
        weight = min(_DOMAIN_CAP, _DOMAIN_WEIGHT * len(terms))
        signals.append((weight, f"domain terms ({', '.join(terms[:4])})"))
    down = 0.0
    for rule in _MODIFIERS:
        if match := rule.find(text, keys):
            weight = max(rule.weight, _DOWN_CAP - down)
            down += min(0.0, weight)
            signals.append((weight, f"{rule.reason} ('{_quote(match)}')"))
    return signals


_SHARED = TaskAnalyzer()


def analyze(prompt: str) -> Analysis:
    """Rates `prompt` with a shared analyzer."""
    return _SHARED.analyze(prompt)
