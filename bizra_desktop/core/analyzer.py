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


# Speed: Python's re has no multi-keyword search, and a pattern that starts with \b is tried at
# every position (about 8 ns a character, times ~80 rules). So the prompt is split into words
# once, a rule's regex runs only when one of its keys (word prefixes) is among them, and patterns
# start with a literal, which re skips ahead to; the leading word boundary is checked in `find`.
# Rules without keys (symbols, scripts written without spaces) always run.
_KEY_LEN = 5
_SEPARATORS = "-'/()[]{},.:;?!\"`*#=<>\\|+"


def _inside_word(text: str, i: int) -> bool:
    return 0 < i < len(text) and _is_word(text[i - 1]) and _is_word(text[i])


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"


@dataclass(frozen=True)
class _Rule:
    weight: float
    reason: str
    keys: frozenset[str]
    pattern: re.Pattern[str]

    def find(self, text: str, keys: set[str]) -> re.Match[str] | None:
        """The first match that does not start inside a word."""
        if self.keys and self.keys.isdisjoint(keys):
            return None
        match = self.pattern.search(text)
        while match and self.keys and _inside_word(text, match.start()):
            match = self.pattern.search(text, match.start() + 1)
        return match


def _rule(weight: float, reason: str, keys: str, pattern: str) -> _Rule:
    prefixes = frozenset(key[:_KEY_LEN] for key in keys.split())
    return _Rule(weight, reason, prefixes, re.compile(pattern, re.MULTILINE))


_Signal = tuple[float, str]  # (weight, reason)

# What the prompt asks for, by level, matched on lowercased text. The hardest ask found is the
# base of the score. Non-English verbs cover the commonest ways to ask.
_TASKS: tuple[_Rule, ...] = (
    _rule(
        4.0,
        "asks for a design",
        "design designing redesign system concevoir diseña diseñar entwirf entwerfen",
        r"design(?:ing)? (?:a|an|the|my|our|your|its|this|that|some|me)\b"
        r"|redesign (?:a|an|the|my|our|your|its|this|that)\b|system design\b|design doc"
        r"|concevoir\b|diseñ(?:a|ar)\b|entwirf\b|entwerfen\b",
    ),
    _rule(
        4.0,
        "asks for an architecture",
        "architect architecting architecture",
        r"architect(?:ing)? (?:a|an|the|my|our)\b|target architecture\b"
        r"|(?:create|plan|propose|lay out|sketch|draft|detailed|full)\b[^.?!\n]{0,40}"
        r"\barchitecture\b",
    ),
    _rule(
        4.0,
        "asks for a proof",
        "prove proof proofs démontrer démontrez",
        r"prove\b|proofs?\b(?![- ]of[- ](?:concept|work|stake|authority|purchase|address))"
        r"|démontre[rz]?\b",
    ),
    _rule(
        4.0,
        "asks for a strategy",
        "strategy strategies formulate",
        r"(?:formulate|develop|devise|create|craft|build|propose|define)\b[^.?!\n]{0,50}"
        r"\bstrateg(?:y|ies)\b|formulate\b",
    ),
    _rule(
        4.0,
        "asks to build a system",
        "system platform protocol compiler interpreter engine kernel store framework "
        "infrastructure library",
        r"(?:build|implement|create|develop|engineer|write)\s+(?:a|an|the|my|our|your)\s+"
        r"(?:[\w,-]+\s+){0,5}(?:system|platform|protocol|compiler|interpreter|engine|kernel"
        r"|key-value store|framework|infrastructure|(?:consensus|database|crypto\w*) library)"
        r"\b(?![ -](?:call|file|prompt|requirements?))",
    ),
    _rule(
        4.0,
        "asks for research-grade work",
        "research novel whitepaper white threat migration scaling disaster plan",
        r"research (?:plan|proposal|agenda)\b|novel (?:approach|method|algorithm)\b"
        r"|white ?paper\b|threat model\b|migration plan\b|scaling plan\b"
        r"|disaster recovery plan\b|plan (?:to|for) (?:migrat|scal|re-?architect)",
    ),
    _rule(
        3.0,
        "asks for an analysis",
        "analyze analyse analysis analyses analyzing analysing analizar analizza",
        r"analy[sz](?:e|es|ed|ing)\b|analys[ie]s\b|anali[sz]",
    ),
    _rule(
        3.0,
        "asks for an evaluation",
        "evaluate evaluating assess critique critiquing critically",
        r"evaluat(?:e|es|ing)\b|assess(?:es|ing)?\b|critiqu(?:e|ing)\b|critically\b",
    ),
    _rule(
        3.0,
        "asks to debug",
        "debug debugging troubleshoot bug bugs point fix cause causing why",
        r"debug(?:ging)?\b|troubleshoot|find (?:the|a|any) bugs?\b"
        r"|point out (?:the )?(?:bugs|issues|problems|errors)\b"
        r"|fix (?:it|(?:my|this|the) (?:code|bug|issue|problem|error))\b"
        r"|what (?:could|might|would) (?:be )?caus|root cause\b"
        r"|why (?:is|does|do|did|are|isn't|doesn't|won't|can't) (?:my|our)\b",
    ),
    _rule(3.0, "asks for a diagnosis", "diagnose diagnosis diagnosing diagnostic", r"diagnos"),
    _rule(
        3.0,
        "asks to optimize",
        "optimize optimise optimizing optimising optimization refactor refactoring speed",
        r"optimi[sz](?:e|es|ing|ation)\b|refactor|speed (?:it |this )?up\b",
    ),
    _rule(3.0, "asks for a derivation", "derive derivation", r"deriv(?:e|es|ing|ation)\b"),
    _rule(
        3.0,
        "asks for a review",
        "review audit code",
        r"review (?:this|the|my|our)\b|audit (?:this|the|my|our)\b|code review\b",
    ),
    _rule(
        3.0,
        "asks for reasoning",
        "interpret justify determine implication implications argument arguments argue steelman",
        r"interpret\b|justify\b|determine (?:whether|if)\b|implications?\b"
        r"|arguments? (?:for and against|on both sides)\b|argue\b|steel-?man\b",
    ),
    _rule(
        2.0,
        "asks for an explanation",
        "explain elaborate explique expliquer explica explicar erklär spiega объясни",
        r"explain|elaborate\b|expli(?:que|quer|ca|car)\b|erklär|spiega|объясни",
    ),
    _rule(2.0, "asks for an explanation", "", r"解释|説明"),
    _rule(
        2.0,
        "asks for a description",
        "describe description outline walk discuss illustrate overview tell lay break",
        r"describ|outline\b|walk me through\b|discuss|illustrate\b|overview\b"
        r"|tell me (?:about|everything about|more about)\b|lay out\b|break down\b",
    ),
    _rule(
        2.0,
        "asks for a comparison",
        "compare comparing comparison difference differences pros advantages versus vs",
        r"compar(?:e|es|ing|ison)\b|differences? between\b|pros and cons\b"
        r"|advantages and disadvantages\b|versus\b|vs\.?\s",
    ),
    _rule(
        2.0,
        "asks for a summary or rewrite",
        "summary summarize summarise summarizing summarising paraphrase rewrite rephrase "
        "proofread translate",
        r"summar(?:y|ize|ise|izing|ising)\b|paraphrase\b|rewrite\b|rephrase\b|proofread\b"
        r"|translate (?:this|the following|these)\b",
    ),
    _rule(
        2.0,
        "asks how or why",
        "how why fonctionne funciona funktioniert работает почему",
        r"how (?:does|do|did|can|could|would|should|is|are|was|were|to)\b(?! you say)"
        r"|why\b|comment fonctionne|cómo funciona|wie funktioniert|как работает|почему",
    ),
    _rule(2.0, "asks how or why", "", r"为什么|如何|怎么"),
    _rule(
        2.0,
        "asks to write or create something",
        "write draft compose implement create generate",
        r"write\b|draft\b|compose\b|implement\b|create\b|generate\b",
    ),
    _rule(
        2.0,
        "asks for a plan",
        "itinerary plan schedule menu programme routine curriculum budget",
        r"(?:give me|suggest|propose|recommend|plan|put together)\b[^.?!\n]{0,40}\b(?:itinerary"
        r"|plan|schedule|menu|programme|routine|curriculum|budget)\b",
    ),
    _rule(
        2.0,
        "asks to calculate or solve",
        "estimate calculate compute solve work convert",
        r"estimate\b|calculate\b|compute\b|solve\b|work out\b|convert (?:this|the following)\b",
    ),
    _rule(
        2.0,
        "asks for causes or effects",
        "causes benefits reasons effects consequences risks advantages",
        r"what (?:are|were) the (?:main |key |major )?(?:causes|benefits|reasons|effects"
        r"|consequences|risks|advantages)\b|causes of\b",
    ),
    _rule(
        2.0,
        "asks for advice or a hypothetical",
        "should better worth wise happen if feedback advice improve options",
        r"should (?:i|we)\b|is it (?:better|worth|wise)\b|what (?:would|will) happen\b"
        r"|what if\b|feedback on\b|advice on\b|improve (?:my|this|our)\b"
        r"|what are (?:my|our) options\b",
    ),
    _rule(
        1.0,
        "factual question",
        "what whats who whos when where which qu qué que was cos что",
        r"what(?:'s|s| is| are| was| were| does| do)\b|who(?:'s| is| was| are| were| wrote"
        r"| painted| invented| discovered| founded)\b|when (?:is|was|did|were|does)\b"
        r"|where (?:is|are|was|were|do|does|can)\b|which\b|qu'est-ce que\b|qu[ée] es\b"
        r"|was ist\b|cos'è|что такое",
    ),
    _rule(
        1.0,
        "asks for a definition",
        "define definition meaning stand synonym synonyms antonym antonyms rhyme rhymes spell",
        r"defin(?:e|ition)\b|meaning of\b|stand for\b|synonyms?\b|antonyms?\b|rhymes?\b"
        r"|spell\b",
    ),
    _rule(
        1.0,
        "asks for a list",
        "list name",
        r"list\b|name (?:a|an|one|two|three|four|five|some|the|\d+)\b",
    ),
    _rule(
        1.0,
        "asks for a quantity",
        "how",
        r"how (?:many|much|old|far|long|tall|big|fast|often)\b|how do you say\b",
    ),
    _rule(
        1.0,
        "asks for a conversion or translation",
        "convert translate",
        r"convert\b|translate\b",
    ),
    _rule(
        1.0,
        "light request",
        "tell recommend suggest joke",
        r"tell me (?:a|an|some) (?:joke|fun fact|fact|riddle)\b|recommend\b|suggest\b|joke\b",
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

# Code in the prompt, matched on the original text: the model must read it, and anything about
# code needs at least a moderate model.
_CODE_WEIGHT = 0.4
_CODE_FLOOR = 2.0
_CODE: tuple[_Rule, ...] = (
    _rule(
        _CODE_WEIGHT,
        "contains code",
        "",
        r"```|`[^`\n]+`|=>|#include|\n    \S|\n\t\S|;[ \t]*$|\{[ \t]*$|</?[a-z]+>",
    ),
    _rule(
        _CODE_WEIGHT,
        "contains code",
        "def function import select regex regular",
        r"def \w+\(|function\s*\w*\(|import \w+|SELECT\b[\s\S]{1,200}\bFROM\b|regex"
        r"|regular expressions?\b|Regular expressions?\b",
    ),
)

# Each reason adds its weight once. Stack traces are matched on the original case ("Error:").
_FLAGS: tuple[tuple[_Rule, bool], ...] = (  # (rule, matched on the original text)
    (
        _rule(
            0.5,
            "stack trace or error output",
            "traceback panicked segmentation dumped",
            r"Traceback \(most recent call last\)|panicked at|[Ss]egmentation fault|core dumped",
        ),
        True,
    ),
    (_rule(0.5, "stack trace or error output", "", r"Error:|Exception:|\n\s+at [\w.$<>]+\("), True),
    (
        _rule(
            0.4,
            "maths",
            "frac int sum sqrt lim partial mathbb begin dx dy dt integral integrals derivative "
            "derivatives eigen eigenvalue eigenvalues eigenvector equation equations matrix "
            "matrices converge converges convergence polynomial extrema inflection",
            r"\\(?:frac|int|sum|sqrt|lim|partial|mathbb|begin)\b|d[xyt]\b|integrals?\b"
            r"|derivatives?\b|eigen\w*|equations?\b|matri(?:x|ces)\b|converge\w*|polynomial"
            r"|extrema\b|inflection\b",
        ),
        False,
    ),
    (_rule(0.4, "maths", "", r"\^\d|\$[^$\n]{1,60}\$|∫|∑|∏|√|∂|∇|≤|≥|≠|∞"), False),
    (
        _rule(
            0.3,
            "large scale",
            "million millions billion billions second tb pb regions continents",
            r"millions?\b|billions?\b|per second\b|tb\b|pb\b"
            r"|across (?:\w+ )?(?:regions|continents|data cent(?:er|re)s)\b",
        ),
        False,
    ),
    # "100k", "500M", "10m": the lookbehind keeps the pattern literal-led (see `_Rule.find`).
    (_rule(0.3, "large scale", "", r"k\b(?<=\dk)|m\b(?<=\dm)"), False),
)

# Explicit requirements the answer must meet: each distinct one adds weight.
_CONSTRAINT_WEIGHT = 0.25
_CONSTRAINTS_CAP = 0.75
_CONSTRAINTS: tuple[_Rule, ...] = (
    _rule(_CONSTRAINT_WEIGHT, "must", "must mustn", r"must(?:n't| not)?\b"),
    _rule(_CONSTRAINT_WEIGHT, "without", "without", r"without\b"),
    _rule(
        _CONSTRAINT_WEIGHT,
        "bound",
        "most least than",
        r"at most\b|at least\b|no more than\b|no less than\b",
    ),
    _rule(
        _CONSTRAINT_WEIGHT,
        "limit",
        "than under within",
        r"less than\b|fewer than\b|under \$?\d|within \d",
    ),
    _rule(_CONSTRAINT_WEIGHT, "complexity bound", "o", r"o\([^)\n]{1,20}\)"),
    _rule(
        _CONSTRAINT_WEIGHT,
        "length limit",
        "word words sentence sentences paragraph paragraphs lines characters",
        r"(?:in|under|within|than|of|about|exactly|max|maximum|most) \d+[\s-]*(?:words?|sentences?"
        r"|paragraphs?|lines|characters)\b|-word\b(?<=\d-word)",
    ),
    _rule(
        _CONSTRAINT_WEIGHT,
        "latency or availability target",
        "p95 p99 99 ms",
        r"p9[59]\b|99\.9+%|\d+\s*ms\b",
    ),
)

# Words that say how much answer is wanted.
_MODIFIERS: tuple[_Rule, ...] = (
    _rule(
        0.5,
        "asks for depth",
        "depth detail detailed thorough thoroughly comprehensive",
        r"in[ -]depth\b|in detail\b|detailed\b|thorough(?:ly)?\b|comprehensive\b",
    ),
    _rule(
        0.4,
        "asks for every step",
        "step each show showing",
        r"step[ -]by[ -]step\b|each step\b|show(?:ing)? your work",
    ),
    _rule(0.4, "asks for trade-offs", "trade tradeoff tradeoffs", r"trade-?offs?\b"),
    _rule(
        0.5,
        "production-grade",
        "production enterprise scale scalable fault high",
        r"production[ -](?:grade|ready|quality)\b|enterprise[ -]grade\b|at scale\b"
        r"|scalable\b|fault[ -]tolerant\b|high[ -]availability\b",
    ),
    _rule(
        0.5,
        "asks for rigour",
        "rigorous rigorously formal formally first",
        r"rigorous(?:ly)?\b|formal(?:ly)? (?:proof|argument|model|semantics|verification)"
        r"|formally\b|from first principles\b",
    ),
    _rule(0.4, "asks for edge cases", "edge corner", r"edge cases?\b|corner cases?\b"),
    _rule(
        -0.5,
        "asks for a brief answer",
        "brief briefly one single few short tl tldr quick quickly",
        r"brief(?:ly)?\b|in (?:one|a single|a few) (?:word|sentence|line)s?\b|short answer"
        r"|tl;?dr\b|quick(?:ly)?\b",
    ),
    _rule(
        -0.4,
        "asks for simple terms",
        "simple simply eli5 five yes",
        r"in simple terms\b|simply\b|eli5\b|like i'm (?:five|5)\b|yes or no\b",
    ),
)
_DOWN_CAP = -0.9  # a "briefly" never takes an expert task below complex

# Jargon of fields where small models are unreliable; each distinct term adds a little. A word
# matches a stem it starts with; stems shorter than four letters must match the whole word.
_DOMAIN_STEMS = (
    "consensus paxos raft shard replica partition idempoten kafka kubernetes microservice "
    "balancer limiter byzantine distributed lockless deadlock mutex semaphore concurren "
    "multithread reclamation garbage jvm compiler soundness calculus undecidab halting np "
    "complexity quicksort heap encrypt cryptograph secrecy hmac elliptic tls mitm replay "
    "authenticat oauth indemnif liabilit jurisdiction patent gpl tort statute plaintiff gdpr "
    "pci compliance negligen lessee lessor landlord tenan lawsuit legal troponin myocard "
    "contraindicat dosage anticoagul patient inr pharmacokinet scholes itô hedg volatil "
    "mortgage amortiz ledger bookkeeping reconcil regression backprop gradient lstm "
    "transformer overfit regulariz precision pytorch tensorflow retrieval embedding "
    "renormaliz quantum relativity hamiltonian lagrangian lebesgue measurable hilbert "
    "manifold topolog stochastic markov bayesian convex proxy cdn caching postgres mysql "
    "oracle cassandra schema latency throughput failover trading regulat runway churn cac "
    "ltv b2b b2c valuation gödel incompleteness epistemolog consciousness chromodynamics "
    "gauge allocat colouring coloring x86 ssa scaling scalab"
)


def _index_by_prefix(stems: list[str]) -> dict[str, tuple[str, ...]]:
    return {p: tuple(s for s in stems if s[:4] == p) for p in {s[:4] for s in stems}}


_DOMAIN_INDEX = _index_by_prefix(_DOMAIN_STEMS.split())
_DOMAIN_WEIGHT = 0.2
_DOMAIN_CAP = 1.0

# Several asks in one prompt: a second verb joined to the first, sequencing words, extra
# question marks, list items. Counted outside code blocks, whose punctuation means nothing here.
_ASK_VERBS = (
    "explain|describe|compare|analy[sz]e|evaluate|assess|prove|derive|discuss|show|justify"
    "|recommend|propose|design|implement|write|list|give|flag|sketch|find|identify|estimate"
    "|calculate|test|how|why|what"
)
_SEQUENCE = re.compile(
    "|".join(
        rf"{joiner}\s+(?:then\s+)?(?:{_ASK_VERBS})\b"
        for joiner in ("and", "then", "also", "as well as")
    )
    + r"|after that\b|;(?![ \t]*$)",
    re.MULTILINE,
)
_LIST_ITEM = re.compile(r"^\s*(?:\d+[.)]|[-*•])\s+\S", re.MULTILINE)
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
        raw = _scanned(prompt)
        text = raw.lower().replace("\u2019", "'")
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

        signals = [_task_signal(tasks, prose, words), *_structure_signals(raw, text, prose, keys)]
        code = next((m for rule in _CODE if (m := rule.find(raw, keys))), None)
        if code:
            signals.append((_CODE_WEIGHT, f"contains code ('{_quote(code)}')"))
        signals += _flag_signals(raw, text, keys)
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
    # str.replace per separator is several times faster than a regex split or str.translate.
    for separator in _SEPARATORS:
        text = text.replace(separator, " ")
    return set(text.split())


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


def _structure_signals(raw: str, text: str, prose: str, keys: set[str]) -> list[_Signal]:
    """Sub-tasks and explicit constraints."""
    signals = []
    subtasks = sum(1 for m in _SEQUENCE.finditer(prose) if not _inside_word(prose, m.start()))
    subtasks += max(0, prose.count("?") - 1)
    if "\n" in raw and (items := len(_LIST_ITEM.findall(_CODE_BLOCK.sub(" ", raw)))) >= 2:
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


def _flag_signals(raw: str, text: str, keys: set[str]) -> list[_Signal]:
    """Stack traces, maths and scale, each counted once."""
    found: dict[str, _Signal] = {}
    for rule, original_case in _FLAGS:
        if rule.reason not in found and (match := rule.find(raw if original_case else text, keys)):
            found[rule.reason] = (rule.weight, f"{rule.reason} ('{_quote(match)}')")
    return list(found.values())


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
