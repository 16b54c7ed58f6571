"""TeX maths in an answer, shown as readable Unicode instead of raw markup.

Qt's markdown has no maths: `$a_i^2$` comes out as "a" with italics eaten by the underscores.
A typesetter (MathJax, KaTeX) needs a web engine this app does not ship, so the common TeX a
small model writes (Greek letters, operators, fractions, roots, sub- and superscripts) becomes
Unicode text, set as a code span so markdown leaves it alone and it reads in monospace.
Display maths becomes a paragraph of its own. What the table does not know stays as written.
"""

# ruff: noqa: RUF001 - the symbol table's Greek letters and operators are the point of this file

from __future__ import annotations

import re

_SYMBOLS = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "varepsilon": "ε",
    "zeta": "ζ", "eta": "η", "theta": "θ", "iota": "ι", "kappa": "κ", "lambda": "λ", "mu": "μ",
    "nu": "ν", "xi": "ξ", "pi": "π", "rho": "ρ", "sigma": "σ", "tau": "τ", "phi": "φ",
    "varphi": "φ", "chi": "χ", "psi": "ψ", "omega": "ω", "Gamma": "Γ", "Delta": "Δ",
    "Theta": "Θ", "Lambda": "Λ", "Xi": "Ξ", "Pi": "Π", "Sigma": "Σ", "Phi": "Φ", "Psi": "Ψ",
    "Omega": "Ω", "times": "×", "cdot": "·", "div": "÷", "pm": "±", "mp": "∓", "le": "≤",
    "leq": "≤", "ge": "≥", "geq": "≥", "ne": "≠", "neq": "≠", "approx": "≈", "equiv": "≡",
    "sim": "∼", "propto": "∝", "infty": "∞", "sum": "∑", "prod": "∏", "int": "∫", "oint": "∮",
    "partial": "∂", "nabla": "∇", "to": "→", "rightarrow": "→", "leftarrow": "←",
    "Rightarrow": "⇒", "Leftarrow": "⇐", "iff": "⇔", "implies": "⇒", "mapsto": "↦", "in": "∈",
    "notin": "∉", "subset": "⊂", "subseteq": "⊆", "supset": "⊃", "cup": "∪", "cap": "∩",
    "emptyset": "∅", "forall": "∀", "exists": "∃", "neg": "¬", "land": "∧", "lor": "∨",
    "ldots": "…", "cdots": "⋯", "dots": "…", "circ": "∘", "degree": "°", "angle": "∠",
    "perp": "⊥", "parallel": "∥", "mid": "∣", "langle": "⟨", "rangle": "⟩", "lfloor": "⌊",
    "rfloor": "⌋", "lceil": "⌈", "rceil": "⌉", "quad": " ", "qquad": "  ", ",": " ", ";": " ",
    "!": "", "{": "{", "}": "}", "%": "%", "$": "$", "_": "_", "\\": "\n",
}  # fmt: skip
_SUPERSCRIPTS = str.maketrans("0123456789+-=()nia", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿⁱᵃ")
_SUBSCRIPTS = str.maketrans("0123456789+-=()aeiojkmnrstux", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑᵢₒⱼₖₘₙᵣₛₜᵤₓ")
_SUPERSCRIPT_CHARS = set("0123456789+-=()nia")
_SUBSCRIPT_CHARS = set("0123456789+-=()aeiojkmnrstux")

_GROUP = r"\{((?:[^{}]|\{[^{}]*\})*)\}"  # one brace group, one level of nesting inside
_FRAC = re.compile(r"\\[dt]?frac\s*" + _GROUP + r"\s*" + _GROUP)
_SQRT = re.compile(r"\\sqrt\s*(?:\[([^\]]*)\])?\s*" + _GROUP)
_STYLE = re.compile(r"\\(?:text|mathrm|mathbf|mathit|mathsf|mathtt|operatorname|boxed)\s*" + _GROUP)
_SCRIPT = re.compile(r"([_^])(?:" + _GROUP + r"|(\\[A-Za-z]+|[^\s{}\\]))")
_COMMAND = re.compile(r"\\([A-Za-z]+|[,;!{}%$_\\])")
_SIZING = re.compile(r"\\(?:left|right|big|Big|bigg|Bigg)\s*(\\?[()\[\]|.{}]|\\[A-Za-z]+)?")

# Display maths first ($$…$$, \[…\]), then inline ($…$, \(…\)). An inline $ must hug its
# content and the closing one must not be followed by a digit: "$5 and $10" is money.
_DISPLAY = re.compile(r"\$\$(.+?)\$\$|\\\[(.+?)\\\]", re.DOTALL)
_INLINE = re.compile(r"(?<![\\$\w])\$(?=\S)([^$\n]+?)(?<=\S)\$(?![\d$])|\\\((.+?)\\\)")
_CODE_SPAN = re.compile(r"(`+)(?:.+?)\1", re.DOTALL)


def tex_to_unicode(tex: str) -> str:
    """`tex` as plain Unicode text, e.g. "\\frac{a}{b} \\le x_i^2" → "a/b ≤ xᵢ²"."""
    text = _SIZING.sub(lambda m: _symbol(m.group(1) or ""), tex)
    for _ in range(4):  # nested fractions and roots, inside out
        text = _STYLE.sub(lambda m: m.group(1), text)
        text = _FRAC.sub(lambda m: f"{_atom(m.group(1))}/{_atom(m.group(2))}", text)
        text = _SQRT.sub(_root, text)
    text = _SCRIPT.sub(_script, text)
    text = _COMMAND.sub(lambda m: _SYMBOLS.get(m.group(1), m.group(1)), text)
    return re.sub(r"[ \t]+", " ", text.replace("{", "").replace("}", "")).strip()


def _symbol(command: str) -> str:
    if command.startswith("\\"):
        return _SYMBOLS.get(command[1:], command[1:])
    return "" if command == "." else command


def _atom(text: str) -> str:
    """Parenthesised unless it is one symbol or number, so a/b+c is not misread."""
    text = text.strip()
    return text if re.fullmatch(r"\\?\w+", text) else f"({text})"


def _root(match: re.Match[str]) -> str:
    index = {"2": "", "3": "∛", "4": "∜"}.get(match.group(1) or "2")
    if index is None:
        index = f"{match.group(1)}√"
    return f"{index or '√'}{_atom(match.group(2))}"


def _script(match: re.Match[str]) -> str:
    mark, group = match.group(1), match.group(2)
    body = _SCRIPT.sub(_script, group if group is not None else match.group(3))
    body = _COMMAND.sub(lambda m: _SYMBOLS.get(m.group(1), m.group(1)), body)
    chars, table = (
        (_SUPERSCRIPT_CHARS, _SUPERSCRIPTS) if mark == "^" else (_SUBSCRIPT_CHARS, _SUBSCRIPTS)
    )
    if body and set(body) <= chars:
        return body.translate(table)
    return f"{mark}({body})" if len(body) > 1 else f"{mark}{body}"


def render_maths(markdown: str) -> str:
    """`markdown` with its maths replaced by Unicode code spans; code spans left as they are."""
    out: list[str] = []
    position = 0
    for span in _CODE_SPAN.finditer(markdown):
        out.append(_replace_maths(markdown[position : span.start()]))
        out.append(span.group(0))
        position = span.end()
    out.append(_replace_maths(markdown[position:]))
    return "".join(out)


def _replace_maths(text: str) -> str:
    def display(match: re.Match[str]) -> str:
        return f"\n\n{_code_span(tex_to_unicode(match.group(1) or match.group(2)))}\n\n"

    def inline(match: re.Match[str]) -> str:
        return _code_span(tex_to_unicode(match.group(1) or match.group(2)))

    return _INLINE.sub(inline, _DISPLAY.sub(display, text))


def _code_span(text: str) -> str:
    text = " ".join(text.split())  # a code span is one line of text
    fence = "``" if "`" in text else "`"
    return f"{fence} {text} {fence}" if "`" in text else f"{fence}{text}{fence}"
