"""Rates how hard a prompt is, so that the selector can send it to a model big enough for it.

No model call: a few precompiled regexes feed weighted signals into one score, and the score is
rounded onto the `Complexity` scale. The base of the score is the hardest task the prompt asks
for (anywhere in it, not only at the start); length, sub-tasks, constraints, code, maths, jargon
and modifiers move it up or down from there. Mistakes are not symmetric: a hard prompt sent to
a 0.5B model fails outright while an easy one sent to a 7B model only costs time, so conflicting
signals resolve upward and the downward ones are capped.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

from bizra_desktop.core.tiers import Complexity

# Regexes see at most this much of the text: a 1 MB paste is as hard as its ask, which sits at
# the start or the end, and scanning all of it would cost tens of milliseconds per regex.
_SCAN_HEAD = 6000
_SCAN_TAIL = 2000

# Score → complexity: a score rounds to the nearest level (2.5 and up is COMPLEX, ...).
_THRESHOLDS = (0.5, 1.5, 2.5, 3.75)


@dataclass(frozen=True)
class Analysis:
    """A prompt's rating and why."""

    complexity: Complexity
    score: float  # the continuous difficulty behind the rating (for diagnostics)
    reasons: tuple[str, ...]  # the signals that decided it, most decisive first


@dataclass(frozen=True)
class _Rule:
    weight: float
    reason: str
    pattern: re.Pattern[str]


def _rule(weight: float, reason: str, pattern: str, flags: int = 0) -> _Rule:
    return _Rule(weight, reason, re.compile(pattern, re.MULTILINE | flags))


_Signal = tuple[float, str]  # (weight, reason)


# What the prompt asks for, by level, matched on lowercased text. The hardest ask found is the
# base of the score. Non-English verbs cover the commonest ways to ask.
_TASKS: tuple[_Rule, ...] = (
    _rule(
        4.0,
        "asks for a design",
        r"\b(?:re)?design(?:ing)?\s+(?:a|an|the|my|our|your|its|this|that|some|me)\b"
        r"|\bsystem design\b|\bdesign doc|\bconcevoir\b|\bdiseñ(?:a|ar)\b|\bentw(?:irf|erfen)\b",
    ),
    _rule(
        4.0,
        "asks for an architecture",
        r"\barchitect(?:ing)?\s+(?:a|an|the|my|our)\b|\btarget architecture\b"
        r"|\b(?:create|plan|propose|lay out|sketch|draft|detailed|full)\b[^.?!\n]{0,40}"
        r"\barchitecture\b",
    ),
    _rule(
        4.0,
        "asks for a proof",
        r"\bprove\b|\bproofs?\b(?![- ]of[- ](?:concept|work|stake|authority|purchase|address))"
        r"|\bdémontre[rz]?\b",
    ),
    _rule(
        4.0,
        "asks for a strategy",
        r"\b(?:formulate|develop|devise|create|craft|build|propose|define)\b[^.?!\n]{0,50}"
        r"\bstrateg(?:y|ies)\b|\bformulate\b",
    ),
    _rule(
        4.0,
        "asks to build a system",
        r"\b(?:build|implement|create|develop|engineer|write)\s+(?:a|an|the|my|our|your)\s+"
        r"(?:[\w,-]+\s+){0,5}(?:system|platform|protocol|compiler|interpreter|engine|kernel"
        r"|key-value store|framework|infrastructure|(?:consensus|database|crypto\w*) library)"
        r"\b(?![ -](?:call|file|prompt|requirements?))",
    ),
    _rule(
        4.0,
        "asks for research-grade work",
        r"\bresearch (?:plan|proposal|agenda)\b|\bnovel (?:approach|method|algorithm)\b"
        r"|\bwhite ?paper\b|\bthreat model\b|\b(?:migration|scaling|disaster recovery) plan\b"
        r"|\bplan (?:to|for) (?:migrat|scal|re-?architect)",
    ),
    _rule(
        3.0,
        "asks for an analysis",
        r"\banaly[sz](?:e|es|ed|ing)\b|\b(?:an|detailed|in-depth|critical|thorough|full)"
        r" analys[ie]s\b|\banali[sz]",
    ),
    _rule(
        3.0,
        "asks for an evaluation",
        r"\bevaluat(?:e|es|ing)\b|\bassess(?:es|ing)?\b|\bcritiqu(?:e|ing)\b|\bcritically\b",
    ),
    _rule(
        3.0,
        "asks to debug",
        r"\bdebug(?:ging)?\b|\btroubleshoot|\bfind (?:the|a|any) bugs?\b"
        r"|\bpoint out (?:the )?(?:bugs|issues|problems|errors)\b"
        r"|\bfix (?:it|(?:my|this|the) (?:code|bug|issue|problem|error))\b"
        r"|\bwhat (?:could|might|would) (?:be )?caus|\broot cause\b"
        r"|\bwhy (?:is|does|do|did|are|isn't|doesn't|won't|can't) (?:my|our)\b",
    ),
    _rule(3.0, "asks for a diagnosis", r"\bdiagnos"),
    _rule(
        3.0,
        "asks to optimize",
        r"\boptimi[sz](?:e|es|ing|ation)\b|\brefactor|\bspeed (?:it |this )?up\b",
    ),
    _rule(3.0, "asks for a derivation", r"\bderiv(?:e|es|ing|ation)\b"),
    _rule(3.0, "asks for a review", r"\b(?:review|audit) (?:this|the|my|our)\b|\bcode review\b"),
    _rule(
        3.0,
        "asks for reasoning",
        r"\binterpret\b|\bjustify\b|\bdetermine (?:whether|if)\b|\bimplications?\b"
        r"|\barguments? (?:for and against|on both sides)\b|\bargue\b|\bsteel-?man\b",
    ),
    _rule(
        2.0,
        "asks for an explanation",
        r"\bexplain|\belaborate\b|\bexpli(?:que|quer|ca|car)\b|\berklär|\bspiega|объясни"
        r"|解释|説明",
    ),
    _rule(
        2.0,
        "asks for a description",
        r"\bdescrib|\boutline\b|\bwalk me through\b|\bdiscuss|\billustrate\b|\boverview\b"
        r"|\btell me (?:about|everything about|more about)\b|\b(?:lay out|break down)\b",
    ),
    _rule(
        2.0,
        "asks for a comparison",
        r"\bcompar(?:e|es|ing|ison)\b|\bdifferences? between\b|\bpros and cons\b"
        r"|\badvantages and disadvantages\b|\bversus\b|\bvs\.?\s",
    ),
    _rule(
        2.0,
        "asks for a summary or rewrite",
        r"\bsummar(?:y|ize|ise|izing|ising)\b|\bparaphrase\b|\bre(?:write|phrase)\b"
        r"|\bproofread\b|\btranslate (?:this|the following|these)\b",
    ),
    _rule(
        2.0,
        "asks how or why",
        r"\bhow (?:does|do|did|can|could|would|should|is|are|was|were|to)\b(?! you say)"
        r"|\bwhy\b|\bcomment fonctionne|\bcómo funciona|\bwie funktioniert|как работает"
        r"|почему|为什么|如何|怎么",
    ),
    _rule(
        2.0,
        "asks to write or create something",
        r"\b(?:write|draft|compose|implement|create|generate)\b",
    ),
    _rule(
        2.0,
        "asks for a plan",
        r"\b(?:give me|suggest|propose|recommend|plan|put together)\b[^.?!\n]{0,40}\b(?:itinerary"
        r"|plan|schedule|menu|programme|routine|curriculum|budget)\b",
    ),
    _rule(
        2.0,
        "asks to calculate or solve",
        r"\b(?:estimate|calculate|compute|solve|work out)\b|\bconvert (?:this|the following)\b",
    ),
    _rule(
        2.0,
        "asks for causes or effects",
        r"\bwhat (?:are|were) the (?:main |key |major )?(?:causes|benefits|reasons|effects"
        r"|consequences|risks|advantages)\b|\bcauses of\b",
    ),
    _rule(
        2.0,
        "asks for advice or a hypothetical",
        r"\bshould (?:i|we)\b|\bis it (?:better|worth|wise)\b|\bwhat (?:would|will) happen\b"
        r"|\bwhat if\b|\b(?:feedback|advice) on\b|\bimprove (?:my|this|our)\b"
        r"|\bwhat are (?:my|our) options\b",
    ),
    _rule(
        1.0,
        "factual question",
        r"\b(?:what(?:'s|s| is| are| was| were| does| do)|who(?:'s| is| was| are| were| wrote"
        r"| painted| invented| discovered| founded)|when (?:is|was|did|were|does)"
        r"|where (?:is|are|was|were|do|does|can)|which)\b|\bqu'est-ce que\b|\bqu[ée] es\b"
        r"|\bwas ist\b|\bcos'è\b|что такое",
    ),
    _rule(
        1.0,
        "asks for a definition",
        r"\bdefin(?:e|ition)\b|\bmeaning of\b|\bstand for\b|\b(?:syn|ant)onyms?\b|\brhymes?\b"
        r"|\bspell\b",
    ),
    _rule(
        1.0,
        "asks for a list",
        r"\blist\b|^\s*name\b|\bname (?:a|an|one|two|three|four|five|some|the|\d+)\b",
    ),
    _rule(
        1.0,
        "asks for a quantity",
        r"\bhow (?:many|much|old|far|long|tall|big|fast|often)\b|\bhow do you say\b",
    ),
    _rule(1.0, "asks for a conversion or translation", r"\bconvert\b|\btranslate\b"),
    _rule(
        1.0,
        "light request",
        r"\btell me (?:a|an|some) (?:joke|fun fact|fact|riddle)\b|\brecommend\b|\bsuggest\b"
        r"|\bjoke\b",
    ),
)

# Greetings, thanks and small talk in the languages users most often type them in. They are
# cut out before task verbs are looked for ("what's up" is not "what is"), and a prompt that is
# nothing else is trivial. CJK and Arabic have no word boundaries around them, hence two parts.
_SMALL_TALK = re.compile(
    r"\b(?:hello|hi|hey|hiya|howdy|yo|greetings|good (?:morning|afternoon|evening|night|day)"
    r"|thanks?(?: you)?(?: (?:so|very) much| a lot)?|thx|ty|cheers|bye|goodbye|see (?:you|ya)"
    r"(?: later| soon)?|how are you(?: doing)?|how's it going|how are things|what's up|wassup|sup"
    r"|are you there|nice to meet you|who are you|you're (?:welcome|the best|great|awesome)"
    r"|no problem|ok(?:ay)?|cool"
    r"|great|perfect|awesome|nice|got it|sounds good|that worked|lol|haha|sure|yes|yep|nope"
    r"|again|there|bot|partner|hola|buen(?:os|as) (?:días|dias|tardes|noches)|qué tal|gracias"
    r"|adiós|bonjour|bonsoir|salut|ça va|merci(?: beaucoup)?|au revoir|hallo"
    r"|guten (?:morgen|tag|abend)|wie geht's|(?:vielen )?dank(?:e(?: schön)?)?|tschüss|ciao"
    r"|buongiorno|come stai|grazie|olá|oi|tudo bem"
    r"|obrigad[oa]|привет|здравствуйте|как дела|спасибо|пока|namaste|merhaba|selam"
    r"|teşekkürler|shalom|hej|hei|jambo)\b"
    r"|你好|您好|谢谢|再见|こんにちは|こんばんは|おはよう|ありがとう|안녕하세요|감사합니다"
    r"|مرحبا|السلام عليكم|شكرا|नमस्ते|שלום"
)
_WORD = re.compile(r"\w+")

# Code in the prompt: the model must read it, and anything about code needs at least a
# moderate model. A stack trace adds the work of locating the fault.
_CODE = _rule(
    0.4,
    "contains code",
    r"```|^(?: {4}|\t)\S|`[^`\n]+`|\bdef \w+\(|\bfunction\s*\w*\(|=>|#include"
    r"|\bimport \w+|[;{]\s*$|\bSELECT\b[\s\S]{1,200}\bFROM\b|</?[a-z]+>"
    r"|(?i:\bregex|\bregular expressions?\b)",
)
_CODE_FLOOR = 2.0

# Each adds its weight once when found; matched on the original case ("Error:", "SELECT").
_FLAGS: tuple[_Rule, ...] = (
    _rule(
        0.5,
        "stack trace or error output",
        r"Traceback \(most recent call last\)|^\s+at [\w.$<>]+\(|\b\w+(?:Error|Exception):"
        r"|panicked at|[Ss]egmentation fault|core dumped",
    ),
    _rule(
        0.4,
        "maths",
        r"\\(?:frac|int|sum|sqrt|lim|partial|mathbb|begin)\b|[∫∑∏√∂∇≤≥≠∞]|\$[^$\n]+\$"
        r"|\b[a-z]\^\d|\bd[xyt]\b|\b(?:integral|derivative|eigen\w*"
        r"|equations?|matri(?:x|ces)|converge\w*|polynomial|extrema|inflection)\b",
        re.IGNORECASE,
    ),
    _rule(
        0.3,
        "large scale",
        r"\b\d[\d.,]*\s*(?:k|m|b|million|billion|thousand)?\s*(?:[\w-]+\s+)?(?:requests|users"
        r"|rps|qps|tps|transactions|devices|players|nodes|servers|microservices|events"
        r"|messages|rows|writes|reads|queries|records)\b|\bper second\b|\b\d+\s*[tp]b\b"
        r"|\bacross (?:\w+ )?(?:regions|continents|data cent(?:er|re)s)\b",
        re.IGNORECASE,
    ),
)

# Explicit requirements the answer must meet, matched on lowercased text: each distinct one
# adds weight.
_CONSTRAINT_WEIGHT = 0.25
_CONSTRAINTS: tuple[_Rule, ...] = (
    _rule(_CONSTRAINT_WEIGHT, "constraint", r"\bmust(?:n't| not)?\b"),
    _rule(_CONSTRAINT_WEIGHT, "constraint", r"\bwithout\b"),
    _rule(_CONSTRAINT_WEIGHT, "constraint", r"\bat (?:most|least)\b|\bno (?:more|less) than\b"),
    _rule(_CONSTRAINT_WEIGHT, "constraint", r"\b(?:less|fewer) than\b|\bunder \$?\d|\bwithin \d"),
    _rule(_CONSTRAINT_WEIGHT, "complexity bound", r"\bo\([^)\n]{1,20}\)"),
    _rule(
        _CONSTRAINT_WEIGHT,
        "length limit",
        r"\b\d+[\s-]*(?:words?|sentences?|paragraphs?|lines|characters)\b",
    ),
    _rule(
        _CONSTRAINT_WEIGHT, "latency or availability target", r"\bp9[59]\b|\b99\.9+%|\b\d+\s*ms\b"
    ),
)
_CONSTRAINTS_CAP = 0.75

# Words that say how much answer is wanted.
_MODIFIERS: tuple[_Rule, ...] = (
    _rule(
        0.5,
        "asks for depth",
        r"\bin[ -]depth\b|\bin detail\b|\bdetailed\b|\bthorough(?:ly)?\b|\bcomprehensive\b",
    ),
    _rule(
        0.4, "asks for every step", r"\bstep[ -]by[ -]step\b|\beach step\b|\bshow(?:ing)? your work"
    ),
    _rule(0.4, "asks for trade-offs", r"\btrade-?offs?\b"),
    _rule(
        0.5,
        "production-grade",
        r"\bproduction[ -](?:grade|ready|quality)\b|\benterprise[ -]grade\b|\bat scale\b"
        r"|\bscalable\b|\bfault[ -]tolerant\b|\bhigh[ -]availability\b",
    ),
    _rule(
        0.5,
        "asks for rigour",
        r"\brigorous(?:ly)?\b|\bformal(?:ly)? (?:proof|argument|model|semantics|verification)"
        r"|\bformally\b|\bfrom first principles\b",
    ),
    _rule(0.4, "asks for edge cases", r"\bedge cases?\b|\bcorner cases?\b"),
    _rule(
        -0.5,
        "asks for a brief answer",
        r"\bbrief(?:ly)?\b|\bin (?:one|a single|a few) (?:word|sentence|line)s?\b|\bshort answer"
        r"|\btl;?dr\b|\bquick(?:ly)?\b",
    ),
    _rule(
        -0.4,
        "asks for simple terms",
        r"\bin simple terms\b|\bsimply\b|\beli5\b|\blike i'm (?:five|5)\b|\byes or no\b",
    ),
)
_DOWN_CAP = -0.9  # a "briefly" never takes an expert task below complex

# Jargon of fields where small models are unreliable; each distinct term adds a little.
_DOMAIN_TERMS = re.compile(
    r"\b(?:consensus|raft|paxos|shard\w*|replica\w*|partition\w*|eventual(?:ly)? consisten\w*"
    r"|consistency models?|idempoten\w*|kafka|kubernetes|microservices?|load balanc\w*"
    r"|rate limiter|cap theorem|leader election|byzantine|distributed|lock-free|race conditions?"
    r"|deadlock|mutex|concurren\w*|multithread\w*|memory (?:leak|reclamation)|hazard pointers"
    r"|garbage collect\w*|jvm|compiler|escape analysis|type system|dependent(?:ly)? typ\w*"
    r"|soundness|lambda calculus|undecidab\w*|halting problem|np-hard|time complexity"
    r"|quicksort|binary (?:search|heap)|encrypt\w*|cryptograph\w*|forward secrecy|key management"
    r"|hmac|elliptic curve|zero-knowledge|tls|man-in-the-middle|replay|authenticat\w*"
    r"|indemnif\w*|liabilit\w*|jurisdiction|patent\w*|gpl|tort|statute|plaintiff|gdpr|pci-dss"
    r"|compliance|negligence|lessee|lessor|landlord|tenan\w*|lawsuit|legal\w*|under (?:\w+ )?law"
    r"|troponin|st elevation|myocardial|contraindicat\w*|\d+-year-old|inr|dosage|anticoagula\w*"
    r"|pharmacokinetic\w*|black-scholes|itô|ito's lemma|derivatives pricing|hedg\w*|volatility"
    r"|mortgage|amorti[sz]\w*|ledger|double-entry|reconciliation|regression|p-value"
    r"|backpropagation|gradient\w*|lstm|transformer|overfitting|regulari[sz]ation"
    r"|mixed precision|learning rate|pytorch|tensorflow|retrieval-augmented|embeddings?"
    r"|fine-tun\w*|renormali[sz]\w*|quantum|field theory|relativity|hamiltonian|lagrangian"
    r"|lebesgue|measurable|hilbert|manifold|topolog\w*|stochastic|markov|bayesian"
    r"|game theory|network effects|optimal control|convex|reverse proxy|cdn|caching"
    r"|postgres(?:ql)?|mysql|oracle|cassandra|schema|latency|throughput|failover"
    r"|data cent(?:er|re)s?"
    r"|multi-region|high availability|order matching|trading|audit trail|regulat\w*|runway"
    r"|churn|cac|ltv|b2b|b2c|unit economics|valuation|cap table|gödel|incompleteness"
    r"|epistemolog\w*|consciousness|chromodynamics|gauge theory|string theory"
    r"|register allocation|graph colou?ring|x86(?:-64)?|ssa|scal(?:ing|ability))\b"
)
_DOMAIN_WEIGHT = 0.2
_DOMAIN_CAP = 1.0

# Several asks in one prompt: list items, sequencing words, a second verb joined to the first,
# extra question marks. Counted outside code blocks, whose punctuation means nothing here.
_LIST_ITEM = re.compile(r"^\s*(?:\d+[.)]|[-*•])\s+\S", re.MULTILINE)
_SEQUENCE = re.compile(
    r"\b(?:and|then|also|as well as)\s+(?:then\s+)?(?:explain|describe|compare|analy[sz]e"
    r"|evaluate|assess|prove|derive|discuss|show|justify|recommend|propose|design|implement"
    r"|write|list|give|flag|sketch|find|identify|estimate|calculate|test|how|why|what)\b"
    r"|\bafter that\b|;(?!\s*$)",
    re.MULTILINE,
)
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
_SMALL_TALK_WORDS = 3  # leftover words a greeting may carry ("hi again", "good evening, bot")


def _scanned(prompt: str) -> str:
    if len(prompt) <= _SCAN_HEAD + _SCAN_TAIL:
        return prompt
    return f"{prompt[:_SCAN_HEAD]}\n{prompt[-_SCAN_TAIL:]}"


def _quote(match: re.Match[str]) -> str:
    return " ".join(match.group().split())[:30]


class TaskAnalyzer:
    """Rates a prompt's complexity from its text alone; deterministic and stateless."""

    def analyze(self, prompt: str) -> Analysis:
        words = len(prompt.split())
        if words == 0:
            return Analysis(Complexity.TRIVIAL, 0.0, ("empty prompt",))
        raw = _scanned(prompt)
        text = raw.lower().replace("\u2019", "'")
        # Only closed code blocks are cut: an unclosed fence must not hide the ask after it.
        prose = _SMALL_TALK.sub(" ", _CODE_BLOCK.sub(" ", text))

        tasks = [(rule, m) for rule in _TASKS if (m := rule.pattern.search(prose))]
        if not tasks and len(_WORD.findall(prose)) <= _SMALL_TALK_WORDS:
            greeting = _SMALL_TALK.search(text)
            if greeting or not _WORD.search(prose):
                what = f"greeting or small talk ('{_quote(greeting)}')" if greeting else "no words"
                return Analysis(Complexity.TRIVIAL, 0.0, (what,))

        signals = [_task_signal(tasks, prose, words)]
        signals += _structure_signals(raw, text, prose)
        for rule in _FLAGS:
            if match := rule.pattern.search(raw):
                signals.append((rule.weight, f"{rule.reason} ('{_quote(match)}')"))
        code = _CODE.pattern.search(raw)
        if code:
            signals.append((_CODE.weight, f"{_CODE.reason} ('{_quote(code)}')"))
        signals += _wording_signals(text)
        for min_words, weight in _LENGTH_STEPS:
            if words >= min_words:
                signals.append((weight, f"long prompt ({words} words)"))
                break

        # A real ask is never trivial, and code needs at least a moderate model.
        score = max(sum(weight for weight, _ in signals), _CODE_FLOOR if code else 1.0)
        signals.sort(key=lambda s: -abs(s[0]))
        complexity = Complexity(bisect_right(_THRESHOLDS, score))
        return Analysis(complexity, round(score, 3), tuple(reason for _, reason in signals))


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


def _structure_signals(raw: str, text: str, prose: str) -> list[_Signal]:
    """Sub-tasks and explicit constraints."""
    signals = []
    subtasks = len(_SEQUENCE.findall(prose)) + max(0, prose.count("?") - 1)
    if (items := len(_LIST_ITEM.findall(_CODE_BLOCK.sub(" ", raw)))) >= 2:
        subtasks += items
    if subtasks:
        weight = min(_SUBTASK_CAP, _SUBTASK_WEIGHT * subtasks)
        signals.append((weight, f"{subtasks + 1} sub-tasks"))
    constraints = [m for rule in _CONSTRAINTS if (m := rule.pattern.search(text))]
    if constraints:
        quoted = ", ".join(f"'{_quote(m)}'" for m in constraints)
        weight = min(_CONSTRAINTS_CAP, _CONSTRAINT_WEIGHT * len(constraints))
        signals.append((weight, f"explicit constraints ({quoted})"))
    return signals


def _wording_signals(text: str) -> list[_Signal]:
    """Domain jargon, and the modifiers that ask for more or less."""
    signals = []
    terms = sorted({m.group() for m in _DOMAIN_TERMS.finditer(text)})
    if terms:
        weight = min(_DOMAIN_CAP, _DOMAIN_WEIGHT * len(terms))
        signals.append((weight, f"domain terms ({', '.join(terms[:4])})"))
    down = 0.0
    for rule in _MODIFIERS:
        if match := rule.pattern.search(text):
            weight = max(rule.weight, _DOWN_CAP - down)
            down += min(0.0, weight)
            signals.append((weight, f"{rule.reason} ('{_quote(match)}')"))
    return signals


_SHARED = TaskAnalyzer()


def analyze(prompt: str) -> Analysis:
    """Rates `prompt` with a shared analyzer."""
    return _SHARED.analyze(prompt)
