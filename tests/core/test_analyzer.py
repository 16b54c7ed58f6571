"""The TaskAnalyzer on the learned rater: the seed rows, preferences, reasons, languages, bad
input, determinism."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bizra_desktop.core.analyzer import Analysis, TaskAnalyzer, analyze
from bizra_desktop.core.routing.features import (
    COMMON_WORDS,
    SAMPLE_HEAD,
    SAMPLE_LIMIT,
    SAMPLE_PIECES,
    extract,
    sampled,
)
from bizra_desktop.core.routing.model import RaterModel, shipped_model
from bizra_desktop.core.routing.preference import Preference
from bizra_desktop.core.routing.rater import _what_is_asked
from bizra_desktop.core.tiers import Complexity

ROOT = Path(__file__).resolve().parents[2]
HANDWRITTEN = ROOT / "data" / "routing" / "handwritten.jsonl"

# The routing table of the product brief: exact at the default preference.
SEED_ROWS = [
    ("Hello!", Complexity.TRIVIAL),
    ("What is entropy?", Complexity.SIMPLE),
    ("Explain how a bicycle stays upright.", Complexity.MODERATE),
    ("Analyze the causes of inflation in 2022.", Complexity.COMPLEX),
    ("Design a URL shortening service for 100 million users.", Complexity.EXPERT),
]


def _handwritten() -> list[str]:
    with HANDWRITTEN.open(encoding="utf-8") as f:
        return [json.loads(line)["prompt"] for line in f]


@pytest.mark.parametrize(("prompt", "expected"), SEED_ROWS)
def test_the_seed_rows_are_exact(prompt: str, expected: Complexity) -> None:
    assert analyze(prompt).complexity is expected


def test_a_preference_moves_the_level_one_way() -> None:
    """quality ≥ balanced ≥ speed for every prompt, and each preference changes some."""
    prompts = _handwritten()
    levels = {p: [analyze(q, p).complexity for q in prompts] for p in Preference}
    pairs = list(zip(levels[Preference.SPEED], levels[Preference.BALANCED], strict=True))
    assert all(speed <= balanced for speed, balanced in pairs)
    pairs = list(zip(levels[Preference.BALANCED], levels[Preference.QUALITY], strict=True))
    assert all(balanced <= quality for balanced, quality in pairs)
    assert levels[Preference.SPEED] != levels[Preference.BALANCED] != levels[Preference.QUALITY]
    assert analyze("Hello!", Preference.QUALITY).preference is Preference.QUALITY


@pytest.mark.parametrize(
    ("prompt", "said"),
    [
        ("Design a URL shortening service for 100 million users.", "asks for a design"),
        ("Hello!", "greeting"),
        ("Prove that there are infinitely many primes.", "asks for a proof"),
        (
            "Jill gets paid $20 per hour to teach and $30 to be a cheerleading coach. If she "
            "works 50 weeks a year, 35 hours a week as a teacher and 15 hours a week as a "
            "coach, what's her annual salary?",
            "multi-step maths word problem (5 quantities)",
        ),
        (
            "Write a 300+ word essay about tea. Do not use any commas, highlight at least 3 "
            "sections in markdown and end with a postscript.",
            "explicit constraints",
        ),
        ("四国地方の４つの都道府県名と、それぞれの県庁所在地を列挙してください。", "Japanese"),
        ("Докажите, что проблема остановки неразрешима.", "Russian"),
        (
            "I was in Lisbon last spring with my sister and we stayed in a tiny flat in Alfama "
            "for two weeks. We walked everywhere, ate far too many pastries and took the old "
            "tram up the hill every single evening to watch the sunset over the river. The "
            "weather was lovely in the mornings. Which wine should I bring back for her "
            "birthday?",
            "background (54 words) around the ask",  # a story is told, not pasted
        ),
    ],
)
def test_reasons_name_what_decided(prompt: str, said: str) -> None:
    reasons = analyze(prompt).reasons
    assert any(said in reason for reason in reasons), reasons


def test_every_hand_written_prompt_gets_a_reason_besides_the_confidence() -> None:
    # Where the trees weigh many small things and no push alone is worth naming (3 to 10 % of
    # prompts), the badge still says what the prompt asks for, never a bare confidence.
    for prompt in _handwritten():
        reasons = analyze(prompt).reasons
        assert len(reasons) >= 2, (prompt, reasons)
        assert not reasons[0].startswith(("confidence", "between ")), (prompt, reasons)


@pytest.mark.parametrize(
    ("prompt", "said"),
    [
        # A greeting before the task: the task is named.
        ("Hi there! Write me a poem.", ["asks for a piece of writing ('poem', 'write')"]),
        (
            "What time zone is Tokyo in?",
            ["no task word it knows: rated by length and form (6 words)"],
        ),
    ],
)
def test_with_no_push_worth_naming_the_reasons_say_what_is_asked(
    prompt: str, said: list[str]
) -> None:
    assert _what_is_asked(extract(prompt)) == said


def test_the_reasons_end_with_the_confidence() -> None:
    for prompt, _ in SEED_ROWS:
        result = analyze(prompt)
        assert 0.0 < result.confidence <= 1.0
        assert f"{result.confidence:.0%}" in result.reasons[-1]


def test_an_uncertain_prompt_sent_up_says_so() -> None:
    """Between two levels the expected-cost rule takes the higher one and the reasons say it."""
    prompts = _handwritten()
    even = [analyze(prompt, Preference.SPEED).complexity for prompt in prompts]
    sent_up = [
        result
        for result, level in zip(map(analyze, prompts), even, strict=True)
        if result.complexity > level
    ]
    assert sent_up
    for result in sent_up:
        assert "sent up to" in result.reasons[-1], result.reasons
        assert f"confidence {result.confidence:.0%}" in result.reasons[-1]


def test_the_language_is_named_and_does_not_move_a_word_problem() -> None:
    english = (
        "Claire makes a 3 egg omelet every morning for breakfast. How many dozens of eggs "
        "will she eat in 4 weeks?"
    )
    spanish = (
        "Claire prepara una tortilla de 3 huevos cada mañana para el desayuno. ¿Cuántas "
        "docenas de huevos comerá en 4 semanas?"
    )
    assert analyze(spanish).language == "es"
    assert analyze(english).language == "en"
    assert abs(analyze(spanish).complexity - analyze(english).complexity) <= 1
    assert analyze(spanish).complexity >= Complexity.MODERATE


@pytest.mark.parametrize(
    ("prompt", "language"),
    [
        ("Bonjour ! Peux-tu m'aider à écrire un email de remerciement à mon professeur ?", "fr"),
        ("Hola, ¿puedes ayudarme a escribir un correo a mi profesor?", "es"),
        ("Olá! Você pode me ajudar a escrever um e-mail para o meu professor?", "pt"),
        ("Ciao! Puoi aiutarmi a scrivere una email al mio professore?", "it"),
        ("Hallo! Kannst du mir bitte helfen, eine E-Mail an meinen Lehrer zu schreiben?", "de"),
        ("Merhaba! Öğretmenime bir e-posta yazmama yardım eder misin?", "tr"),
        # "il y a", "en": French as much as Spanish.
        ("Il y en a deux dans la boîte, et un troisième en route.", "fr"),
        ("Can you help me write an email to my teacher?", "en"),
        # Bengali ends a sentence with the Devanagari "।": still Bengali, not Hindi.
        ("আমি গত বছর লিসবনে ছিলাম। তার জন্মদিনে কোন ওয়াইন নিয়ে যাব?", "bn"),
        ("मैं पिछले साल लिस्बन में था। उसके जन्मदिन पर कौन सी वाइन ले जाऊँ?", "hi"),
    ],
)
def test_languages_sharing_their_short_words_are_told_apart(prompt: str, language: str) -> None:
    # "un", "de", "la" are French, Spanish, Italian and Portuguese at once: the reasons must
    # not call a French request Spanish.
    assert analyze(prompt).language == language


@pytest.mark.parametrize(
    "prompt",
    [
        "Hola amigo, ¿cómo estás?",
        "Salut, comment vas-tu ?",
        "Bonjour, comment ça va ?",
        "Na, wie geht's?",
        "Ciao, come stai?",
        "Olá, como vai você?",
        "Привет, как поживаешь?",
        "Привіт, як справи?",
        "你好，最近怎么样？",
        "こんにちは、お元気ですか？",
        "안녕하세요, 잘 지내세요?",
        "مرحبا، كيف حالك؟",
        "नमस्ते, आप कैसे हैं?",
        "হ্যালো, কেমন আছেন?",
        "నమస్కారం, ఎలా ఉన్నారు?",
        "สวัสดี สบายดีไหม",
        "Habari, hali gani?",
        "Xin chào, bạn khỏe không?",
        "Merhaba, nasılsın?",
        "hey, how's it going?",
    ],
)
def test_how_are_you_is_a_greeting_in_every_language(prompt: str) -> None:
    # Spanish "cómo", French "comment", Arabic "كيف", Hindi "कैसे" ask for an explanation
    # alone; inside "how are you" they only greet.
    features = extract(prompt)
    assert set(features.evidence) == {"greeting"}, features.evidence
    assert not [name for name in features.dense if name.startswith("leads:")]
    assert analyze(prompt).complexity <= Complexity.SIMPLE  # the 0.5B tier, as "Hello!"


def test_a_how_word_still_asks_beside_a_greeting() -> None:
    evidence = extract("Hola, ¿cómo estás? ¿Cómo funciona un motor de combustión?").evidence
    assert evidence["explain"] == ["cómo"]
    # Phrases that only start like "how are you" are questions.
    assert "greeting" not in extract("Wie geht man mit einem Speicherleck in Go um?").evidence
    assert "greeting" not in extract("Como está o tempo em Lisboa hoje?").evidence


def test_arabic_and_devanagari_punctuation_separate_words() -> None:
    # "،" and "؟" (Arabic comma and question mark), "।" (Devanagari full stop).
    assert "greeting" in extract("مرحبا، أنا هنا").evidence
    assert "explain" in extract("यह कैसे काम करता है। समझाइए।").evidence


def test_digits_of_every_script_are_numbers() -> None:
    assert extract("আমার কাছে ১২টি আপেল এবং ৩০টি কমলা আছে।").numbers == {"12", "30"}
    assert extract("لدي ١٢ تفاحة و٣٠ برتقالة").numbers == {"12", "30"}


def test_hyphenated_and_multiword_terms_match() -> None:
    evidence = extract(
        "A fault-tolerant queue with step-by-step reasoning, at least 3 lines"
    ).evidence
    assert "fault tolerant" in evidence["scale"]
    assert "step by step" in evidence["depth"]
    assert "at least" in evidence["constraint:limit"]


@pytest.mark.parametrize(
    "prompt",
    [
        "What's the capital of Peru?",  # "capital" letters are a format, a city is not
        "以下の文章を要約してください。",  # "以下の" is "the following", no limit
        "Im Mai war das Wetter nicht gut.",  # German "Mai" (May), an ordinary "nicht"
        "C'est ton avis qui compte, pas le mien.",  # French "ton" is "your"
        "The kids played under the bridge, including my nephew.",
        "最初に30本持っていて、最後に5本残りました。",  # "at first", "in the end": no edges
        "他一开始有30条手链，最后剩下5条。",  # Chinese "开始" (start) in a story
    ],
)
def test_ordinary_words_are_no_constraints(prompt: str) -> None:
    evidence = extract(prompt).evidence
    assert not [name for name in evidence if name.startswith("constraint:")], evidence


def test_a_constraint_counts_once_whatever_its_word_form() -> None:
    # A translation says "in sections, starting with…" once; English must not count it twice.
    evidence = extract(
        "Write it in three sections, each of the sections starting with a title; start with "
        "the summary."
    ).evidence
    assert evidence["constraint:format"] == ["sections", "title"]
    assert len(evidence["constraint:edges"]) == 1  # "starting with", "start with"


def test_a_quantity_word_problem_is_rated_without_its_words() -> None:
    problem = extract(
        "A baker sells 12 loaves on Monday and twice as many on Tuesday. Each loaf costs $3. "
        "How much money does she make in the two days?"
    )
    assert "word_problem_length" in problem.dense
    assert not problem.hashed  # its nouns say nothing a translation would say alike
    proof = extract("Prove that 2 and 3 are the only consecutive primes. Why does it hold?")
    assert "word_problem_length" in proof.dense
    assert proof.hashed  # not a quantity: its words ("prove", "primes") still count


def test_a_story_asking_how_many_with_one_number_in_digits_is_a_word_problem() -> None:
    # English spells most quantities out; its Japanese translation writes them as digits.
    story = (
        "Sam had 24 marbles. He lost four of them through a hole in the bag and gave half "
        "of the rest to his sister. How many marbles does Sam have now?"
    )
    english = extract(story)
    japanese = extract(
        "サムはビー玉を24個持っていました。袋の穴から4個なくし、残りの半分を妹にあげました。"
        "サムは今ビー玉を何個持っていますか？"
    )
    assert "word_problem_length" in english.dense
    assert "word_problem_length" in japanese.dense
    assert "word_problem_length" not in extract("How many days are in 3 weeks?").dense
    assert "maths word problem (1 quantity in digits)" in analyze(story).reasons


@pytest.mark.parametrize(
    "prompt",
    [
        # "in" (of "in detail") and "was" (of "was it") alone do not ask.
        "I was in Lisbon last spring with my sister and we stayed in a tiny flat in Alfama "
        "for two weeks. The weather was lovely in the mornings. Which wine should I bring "
        "back for her birthday?",
        # Bengali ends a sentence with "।": the story is not the ask.
        "গত বছর আমি আমার বোনের সাথে লিসবনে দুই সপ্তাহ ছিলাম এবং আমরা একটি ছোট ফ্ল্যাটে "
        "থাকতাম। সকালের আবহাওয়া খুব সুন্দর ছিল। তার জন্মদিনে কোন ওয়াইন নিয়ে যাব?",
        # Thai separates sentences by a space.
        "ปีที่แล้วฉันไปลิสบอนกับน้องสาวสองสัปดาห์ พวกเราพักในแฟลตเล็กๆ ในย่านเก่า "
        "อากาศตอนเช้าดีมาก ฉันควรซื้อไวน์อะไรไปให้เธอในวันเกิด?",
        # A Japanese sentence is one whitespace token: the story weighs its words.
        "去年の春、妹と二人でリスボンに二週間滞在して、古い街の小さなアパートに泊まり、"
        "毎朝とても良い天気の中を散歩しました。誕生日に何のワインを買えばいいですか？",
    ],
)
def test_the_story_before_a_question_is_material_not_the_ask(prompt: str) -> None:
    features = extract(prompt)
    assert features.material_units > features.units / 2, (features.units, features.material_units)


def test_a_pasted_table_is_no_maths_word_problem_in_the_reasons() -> None:
    table = "How many rows are in this?\n\nid,name,joined\n" + "".join(
        f"{i},Name {i},2021-03-{i:02d}\n" for i in range(1, 12)
    )
    reasons = " | ".join(analyze(table).reasons)
    assert "word problem" not in reasons, reasons
    problem = "Ann has 12 apples and buys 30 more. She gives 7 away. How many are left?"
    assert "multi-step maths word problem" in analyze(problem).reasons[0]


def test_a_task_word_inside_a_paste_is_said_to_be_material() -> None:
    # "write_timeout" in a pasted config asks for no piece of writing.
    settings = (
        "server:\n  host: 0.0.0.0\n  port: 8443\n  read_timeout: 15s\n  write_timeout: 15s\n"
        "  write_buffer: 4096\n  max_write_retries: 3\n  idle_timeout: 60s\n\n"
    )
    reasons = analyze(settings + "which port does the server listen on?").reasons
    assert "'write' in the pasted material" in reasons, reasons
    assert not [r for r in reasons if r.startswith("asks for a piece of writing")], reasons
    documented = settings + "Write a README section that documents each of these settings."
    assert "'write' in the pasted material" not in analyze(documented).reasons


@pytest.mark.parametrize(
    "prompt",
    [
        "Wie hoch ist die Miete für zwei Wohnungen zu je 450 Euro und 80 Euro Nebenkosten?",
        "Wie lange braucht ein Zug für 240 km bei 80 km/h?",
        "Скольких гостей она накормит, если у неё 3 пирога по 8 кусков?",
        "Ana ana machungwa 12 na anampa kaka yake 5. Amebaki na machungwa mangapi?",
        "ケンは毎日2マイル走ります。1週間で何マイル走りますか？",
    ],
)
def test_how_many_is_read_in_other_languages(prompt: str) -> None:
    assert "quantity" in extract(prompt).evidence


def test_the_length_of_a_paste_is_named_once() -> None:
    # Most of the words are the pasted code: its length is one reason, not "long prompt" too.
    code = "".join(
        f"def handler_{i}(request):\n    user = request.user\n"
        f'    return render(request, "page_{i}.html", {{"user": user}})\n\n'
        for i in range(8)
    )
    reasons = analyze(code + "which web framework is this written for?").reasons
    assert any(r.startswith("pasted material (") for r in reasons), reasons
    assert not any(r.startswith("long prompt") for r in reasons), reasons


@pytest.mark.parametrize("prompt", ["", " ", "\n\t  \r\n"])
def test_an_empty_prompt_is_trivial(prompt: str) -> None:
    assert analyze(prompt) == Analysis(Complexity.TRIVIAL, 0.0, ("empty prompt",))


@pytest.mark.parametrize(
    "prompt",
    [
        "\x00" * 1000,
        "Explain\x00 how\x00 tides\x00 work",
        "\ud800\udfff lone surrogates \udc80",
        bytes(range(256)).decode("latin-1") * 40,
        "x" * 1_000_000,
        ("lorem ipsum dolor sit amet " * 40_000)[:1_000_000] + "\nDesign a sharded KV store.",
    ],
    ids=["nul", "nul-inside", "surrogates", "binary", "1mb-one-word", "1mb-paste-then-ask"],
)
def test_hostile_input_gets_a_rating(prompt: str) -> None:
    result = analyze(prompt)
    assert isinstance(result.complexity, Complexity)
    assert math.isfinite(result.score)
    assert result.reasons


def test_a_megabyte_paste_keeps_the_ask_at_its_end() -> None:
    paste = ("The quick brown fox jumps over the lazy dog. " * 25_000)[:1_000_000]
    ask = "\nDesign a distributed database with strong consistency across regions."
    assert analyze(paste + ask).complexity >= Complexity.COMPLEX
    assert "long prompt" in " ".join(analyze(paste).reasons)


def test_a_long_prompt_is_read_from_a_bounded_sample() -> None:
    """Bounded work however long the paste: the head, pieces of the middle and the tail, and
    counts of the whole scaled up from the sample."""
    line = "2024-05-12 10:01:12 worker-3 retried the job after a timeout\n"
    paste = line * 20_000 + "How many timeouts are there?"
    sample = sampled(paste)
    assert len(sample) <= SAMPLE_LIMIT + SAMPLE_PIECES + 1  # the pieces, a line apart
    assert sample.startswith(paste[:SAMPLE_HEAD])
    assert sample.endswith("How many timeouts are there?")
    # The words of the whole: as many per line as a short prompt of the same lines has.
    short = line * 30
    assert len(short) <= SAMPLE_LIMIT
    words = extract(short).units / 30 * 20_000
    assert abs(extract(paste).units - words) < 0.05 * words
    assert sampled("What is entropy?") == "What is entropy?"


def test_spanish_question_marks_separate_words() -> None:
    """ "¿Cuántos…" is the word "cuántos": a quantity asked for, as "How many…" is."""
    assert "quantity" in extract("¿Cuántos días tiene una semana?").evidence
    assert "quantity" in extract("How many days does a week have?").evidence


def test_deterministic() -> None:
    for prompt in _handwritten()[:200]:
        assert TaskAnalyzer().analyze(prompt) == analyze(prompt) == analyze(prompt)


def test_the_weights_file_round_trips_and_refuses_another_format() -> None:
    model = shipped_model()
    again = RaterModel.from_json(model.to_json())
    assert again == model
    document = json.loads(model.to_json())
    document["format"] = "bizra-rater/0"
    with pytest.raises(ValueError, match="bizra-rater/0"):
        RaterModel.from_json(json.dumps(document))


_TRICKY = [
    *("\x00", "```", "`", "hello ", "thanks!", "briefly ", "in one word, ", "\n1. ", "what is "),
    *("O(", "İ", "\u2019", "-", "Traceback", "証明", "١٢", "？", "fault-tolerant", "\n" * 20),
]
_FRAGMENTS = st.one_of(st.text(), st.characters(categories=["Cs"]), st.sampled_from(_TRICKY))
_PROMPTS = st.lists(_FRAGMENTS, max_size=12).map("".join)


@settings(max_examples=300, database=None, deadline=None)
@given(_PROMPTS, st.sampled_from(list(Preference)))
def test_never_raises(prompt: str, preference: Preference) -> None:
    result = analyze(prompt, preference)
    assert isinstance(result.complexity, Complexity)
    assert math.isfinite(result.score)
    assert 0.0 <= result.confidence <= 1.0
    assert result.reasons


def test_no_reason_names_a_common_word() -> None:
    # The words' pushes name the word; "and" or "this" explains nothing to a person.
    prompts = [
        "Explain the difference between TCP and UDP.",
        "Write a B-tree with deletion in C, with tests.",
        "What's the capital of Peru?",
        "def f(x):\n    return x * 2\n\nwhat language is this?",
        "Bonjour ! Peux-tu m'aider à écrire un email de remerciement à mon professeur ?",
    ]
    worded = [
        reason
        for prompt in prompts
        for reason in analyze(prompt).reasons
        if reason.startswith("wording typical")
    ]
    for reason in worded:
        words = reason.split("('", 1)[1].rstrip("')")
        assert not all(word in COMMON_WORDS for word in words.split()), reason
