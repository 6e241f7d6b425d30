"""Chapter conventions 1 and 2 of issue 18: the same skeleton in every chapter, and no
verdict typed next to a number.

1. Skeleton.  Every chapter notebook 01–10 has, in this order, as markdown: ``**Question.**``,
   ``**What the paper did.**`` (chapter 09: ``**What the paper reports.**``, chapter 10:
   ``**What the paper's design implies.**``), ``**Our method.**``, at least one results
   section (a level-2 heading), then the level-2 headings ``## Caveats``, ``## Exercises``
   and ``## References``, each once; these heading cells exist in both data modes (not
   tagged ``default-data``).
2. Claims computed, never typed.  A sentence of a chapter's markdown that states a verdict
   depending on results (:data:`VERDICT`: covers, significant, rejects, survives, biased,
   credible, robust, breakdown, larger than, exceeds, …) must not carry a typed decimal
   number, unless the sentence attributes that number to the paper (:data:`PAPER` named
   just before it: "the paper's 0.184", "Zhu and Chen report 0.184 (t = 2.91)", or after
   it: "0.184 in the paper"; :func:`unattributed`).  Such numbers are computed and pasted with
   ``{glue:text}``.  What is not prose is left out before the check: fenced blocks (code,
   the exercises' commands), directive options, inline code (a parameter value such as
   ``shift = 0.01``), roles (``{glue:text}`…```, ``{cite}`…```), link targets, HTML
   comments; so are questions (a sentence ending in "?" states no verdict), the
   conventional significance levels (0.01, 0.05, 0.1 after "level", "α" or "p <") and the
   normal quantile in "± 1.96 SE".
   A failure names the chapter, the cell id and the sentence.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import ROOT

CHAPTERS = [p for p in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")) if 1 <= int(p.stem[:2]) <= 10]
WHAT_THE_PAPER = {"09": "What the paper reports.", "10": "What the paper's design implies."}
HEADINGS = ("## Caveats", "## Exercises", "## References")

VERDICT = re.compile(r"""\b(?:
    (?:does\ not|do\ not|did\ not|fails?\ to|never)\ (?:cover|survive|reject|exceed)\w*
  | cover(?:s|ed|ing)?\b | uncovered | contain(?:s|ed|ing)?\b | (?:excludes?|includes?)\ (?:zero|the\ truth)
  | (?:in|un|non-?|not\ )?significan(?:t|tly|ce)
  | reject(?:s|ed|ing|ion)?
  | surviv(?:e|es|ed|ing|al)
  | (?:un)?biased | bias(?:es)?\b
  | credib(?:le|ility) | robust(?:ly|ness)?
  | breakdown | break(?:s|ing)?\ down
  | (?:larger|smaller|greater|bigger|higher|lower|less|more|stronger|weaker|wider|narrower)\ than
  | exceed(?:s|ed|ing)? | below\ the | above\ the | beyond
  | twice | half\ (?:of|as) | times\ (?:as|larger|smaller)
  | contradict(?:s|ed|ion)? | (?:in)?consistent\ with | agree(?:s|d)?\ with | matches\ the
  | confirm(?:s|ed)? | refute(?:s|d)? | detect(?:s|ed)? | recover(?:s|ed)?
  | over(?:states?|stated|estimates?|estimated) | under(?:states?|stated|estimates?|estimated)
  | attenuat(?:es|ed|ion) | inflat(?:es|ed) | overturn(?:s|ed)? | revers(?:es|ed)
  | close\ to | far\ from | within\ (?:the\ )?tolerance | outside\ (?:the\ )?(?:interval|tolerance)
  | true\ (?:effect|value|att|threshold)s? | the\ truth
)""", re.I | re.X)
DECIMAL = re.compile(r"(?<![\w.])[-−+]?\d*[.·]\d+(?![\w.]*\w)|(?<![\w.])\d+,\d{1,2}(?!\d)")
PAPER = re.compile(r"\bpaper(?:'s|’s)?\b|\bZhu and Chen\b|\bthe authors?(?:'|’)?s?\b|\bas printed\b|\bprints?\b",
                   re.I)
LEVEL = re.compile(r"(?:\blevels?\s+(?:of\s+)?|α\s*=?\s*|\balpha\s*=?\s*|\bp\s*[<≤]\s*)(?:0?\.0?1|0?\.05|0?\.10?)\b"
                   r"|(?:0?\.0?1|0?\.05|0?\.10?)\s+level|±\s*1\.96\b|\b1\.96\s*(?:×|x|times)?\s*(?:the\s+)?(?:MC\s+)?SE",
                   re.I)  # conventional levels and the normal 97.5 % quantile are constants, not results


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def prose(markdown: str) -> str:
    """The prose of a markdown text: fenced blocks of code dropped, directive fences and
    options dropped (their content kept), inline code, roles, math kept as text, links by
    their text, HTML comments and tags dropped."""
    out, fence = [], None
    for line in markdown.split("\n"):
        m = re.match(r"^\s*(`{3,}|~{3,}|:{3,})(.*)$", line)
        if fence is not None:
            if m and m[1][0] == fence[0] and len(m[1]) >= len(fence) and not m[2].strip():
                fence = None
            continue
        if m:
            info = m[2].strip()
            if info and not info.startswith("{"):  # a code block: skip to its end
                fence = m[1]
            out.append("")  # a directive's fence: its body is prose, the fence is not
            continue
        if re.match(r"^\s*:[\w-]+:", line):
            continue
        out.append(line)
    text = "\n".join(out)
    text = re.sub(r"<!--.*?-->", " ", text, flags=re.S)
    text = re.sub(r"\{[\w:-]+\}`[^`]*`", " GLUED ", text)  # roles: {glue:text}`x`, {cite}`y`, {doc}`z`
    text = re.sub(r"`[^`\n]+`", " CODE ", text)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"<[^>\n]+>", " ", text)
    return text


def sentences(markdown: str) -> list[str]:
    """The sentences of the prose: paragraphs, list items and headings split apart, then at
    ". ", "! ", "? " before a capital letter, a parenthesis or a quote."""
    out = []
    for block in re.split(r"\n\s*\n|\n(?=\s*(?:[*+-]|\d+\.)\s)|\n(?=#)", prose(markdown)):
        flat = " ".join(block.split())
        flat = re.sub(r"^(?:[*+-]|\d+\.|#+)\s+", "", flat)
        out += [s.strip() for s in re.split(r"(?<=[.!?])\s+(?=[A-Z(\"“*])", flat) if s.strip()]
    return out


AFTER_PAPER = re.compile(r"^\s*\)?,?\s*(?:in|of|from|by|according to)\s+(?:the\s+)?(?:paper|Zhu and Chen)", re.I)
WINDOW = 80  # characters before a number in which a mention of the paper attributes it


def unattributed(sentence: str) -> list[str]:
    """The typed decimal numbers of a sentence that are not the paper's: a number is the
    paper's when the paper is named in the :data:`WINDOW` characters before it ("the
    paper's 0.184", "Zhu and Chen report 0.184 (t = 2.91)"), right after it ("0.184 in
    the paper"), or when it continues a list of the paper's numbers ("0.53 and 1.30")."""
    text = LEVEL.sub(lambda m: " " * len(m[0]), sentence)
    out, last_end, last_ok = [], None, False
    for m in DECIMAL.finditer(text):
        before = text[max(0, m.start() - WINDOW):m.start()]
        ok = bool(PAPER.search(before) or AFTER_PAPER.match(text[m.end():]))
        if not ok and last_ok and re.fullmatch(r"[\s,;/–-]*(?:and|or|to)?[\s,;]*", text[last_end:m.start()]):
            ok = True
        if not ok:
            out.append(m[0])
        last_end, last_ok = m.end(), ok
    return out


def typed_verdicts(markdown: str) -> list[str]:
    """Sentences with a verdict word and a typed decimal number not attributed to the paper."""
    return [s for s in sentences(markdown) if not s.endswith("?") and VERDICT.search(s) and unattributed(s)]


# ---------------------------------------------------------------------------------------
# the checker can fail, and lets through what it should

def test_the_checker_flags_typed_verdicts():
    flagged = typed_verdicts(
        "Column (2)'s interval covers the truth of 0.21. Column (5) is significant at 0.184.\n\n"
        "* The breakdown value is 1.5, larger than the paper's.\n"
        "* The estimate 0.12 does not survive the controls.\n\n"
        "```{admonition} Verdict\nThe size of 0.30 is biased.\n```\n"
        "Its interval [0.02, 0.31] contains the planted effect.\n")
    assert flagged == ["Column (2)'s interval covers the truth of 0.21.", "Column (5) is significant at 0.184.",
                       "The breakdown value is 1.5, larger than the paper's.",
                       "The estimate 0.12 does not survive the controls.", "The size of 0.30 is biased.",
                       "Its interval [0.02, 0.31] contains the planted effect."]


def test_the_checker_lets_computed_quoted_and_non_verdict_sentences_through():
    text = ("Column (5) gives {glue:text}`est5`, which {glue:text}`covers5` the truth.\n"
            "The paper's 0.184 is significant at the 1 % level. Zhu and Chen report 0.184 (t = 2.91), "
            "which they call robust.\n\n"
            "Set `shift = 0.01`: is the estimate still significant?\n\n"
            "A coefficient is significant at the 0.05 level when its p-value is smaller than that.\n\n"
            "```bash\npython -m replication run --only 03 -p n_placebo=50  # covers 0.2\n```\n"
            "The weights sum to 1.02 in the sample.\n"
            "Coverage should lie within ± 1.96 MC SE of 95 %.\n")
    assert typed_verdicts(text) == []


def test_only_the_numbers_next_to_the_paper_are_attributed_to_it():
    assert unattributed("The paper's Table 6 reports thresholds 0.5337 and 1.3028, larger than ours.") == []
    assert unattributed("Zhu and Chen report 0.184 (t = 2.91); 0.184 in the paper is the largest.") == []
    assert unattributed("Ours is 0.21, against the paper's 0.184 (t = 2.91), larger than it.") == ["0.21"]
    assert unattributed("The breakdown value is 1.5, larger than the paper's.") == ["1.5"]
    assert unattributed("Significant at the 0.05 level, within ± 1.96 SE.") == []


def test_sentences_are_split_at_full_stops_not_at_decimals():
    assert sentences("The paper's 0.184 has t = 2.91. Ours is {glue:text}`x`. Fine!") == \
        ["The paper's 0.184 has t = 2.91.", "Ours is GLUED .", "Fine!"]


# ---------------------------------------------------------------------------------------
# the chapters

def _markers(cell: dict) -> list[tuple[str, bool]]:
    """The skeleton markers of a markdown cell, in order, with whether the cell is default-data only."""
    src, dd = _source(cell), "default-data" in cell["metadata"].get("tags", [])
    found = []
    for line in prose(src).split("\n"):
        s = line.strip()
        for bold in re.findall(r"\*\*([^*]+?)\*\*", s):
            if bold in ("Question.", "Our method.") or bold.startswith("What the paper"):
                found.append((f"**{bold.replace('’', chr(39))}**", dd))
        if s.startswith("## "):
            found.append((s, dd))
    return found


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_chapter_has_the_skeleton_in_order(path):
    number = path.stem[:2]
    what = f"**{WHAT_THE_PAPER.get(number, 'What the paper did.')}**"
    markers = [m for c in _cells(path) if c["cell_type"] == "markdown" for m in _markers(c)]
    names = [m for m, _ in markers]
    want = ["**Question.**", what, "**Our method.**", *HEADINGS]
    problems = [f"missing {w!r}" for w in want if w not in names]
    problems += [f"{w!r} appears {names.count(w)} times" for w in want if names.count(w) > 1]
    if not problems:
        at = [names.index(w) for w in want]
        if at != sorted(at):
            problems.append(f"out of order: {[names[i] for i in sorted(at)]}; want {want}")
        results = [n for n in names[at[2] + 1:at[3]] if n.startswith("## ")]
        if not results:
            problems.append("no results section (a ## heading) between **Our method.** and ## Caveats")
        problems += [f"{name!r} is in a cell tagged default-data: it must exist in both data modes"
                     for name, dd in markers if name in HEADINGS and dd]
    assert not problems, f"{path.stem}: " + "; ".join(problems)


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_no_verdict_is_typed_next_to_a_number(path):
    flagged = [f"{path.stem} cell {c.get('id')}: {s}" for c in _cells(path) if c["cell_type"] == "markdown"
               for s in typed_verdicts(_source(c))]
    assert not flagged, ("verdicts typed next to a number that is not the paper's: compute the phrase "
                         "(replication/report/narrative.py) and paste it with {glue:text}, say that the number is "
                         "the paper's, or write a parameter's value as code (`caliper = 0.001`):\n  "
                         + "\n  ".join(flagged))
