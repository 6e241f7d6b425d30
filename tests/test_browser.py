"""The book as a reader sees it, in a real browser (issue 17).

Playwright for Python drives Debian's Chromium (``executable_path``, never a downloaded
browser) over every HTML page of the book built by ``book_html`` (conftest.py: a copy of
the project, every chapter run with params/quick.yaml, built strictly), served from
127.0.0.1, at 1280×900 (desktop) and 390×844 (phone; a narrow desktop window, not mobile
emulation, so that a page too wide for it cannot be zoomed out of sight).  Every page is
visited once per width (fixture ``visits``); each check below reads those visits and lists
*every* offence (page, width, element, section, text, widths) before failing.

What counts as wider than its box.  A table, a display equation (MathJax's
``mjx-container[display=true]``, or a ``div.math`` MathJax did not render) or an image is
measured in the DOM: its extent (bounding box, or ``scrollWidth`` when larger) against the
visible part of its box, which is the article column (``article.bd-article``, content box)
intersected with the padding box of the element's nearest ancestor (for an equation: itself
or an ancestor) whose ``overflow-x`` is not ``visible``.  More than 2 px beyond it is an
offence.  At 1280 px there is no exception: no table, equation or image may be wider than
the article column, whether or not its box scrolls.  At 390 px content may be wider than
its box when that box scrolls sideways (``overflow-x`` ``auto``/``scroll``,
``scrollWidth > clientWidth``) and shows a visible scroll hint: the element right before the
box (before its ``div.math`` for an equation) is a non-empty, visible ``.scroll-hint``
(``book/_static/scroll-hint.js`` adds one to every table or equation box that scrolls).
Hidden content, an element with no size or inside a collapsed toggle
(a ``<details>`` that is not open, outside its ``<summary>``; the book's long tables
collapse behind one) is not measured as the page loads; every page with toggles is then
measured again with all of them open (``opened``), under the same rules.

The checks also cover: the phone page never scrolls sideways; no request fails or answers
>= 400 and none leaves the machine; every image loads; no raw MyST markup in the rendered
text; the configured footer and the repository link on every page; every chapter shows
tables, its figures and typeset mathematics and offers each of its CSV tables for download;
every internal link resolves; the reproducibility page shows the versions and the run
record.  Screenshots of every page are written to ``_runs/screenshots/1280/`` (whole page)
and ``_runs/screenshots/390/`` (first screen) (``REPLICATION_SCREENSHOTS`` overrides the
folder; kept out of git).

The static checks at the end (every ``{cite}`` key and every author-year mention resolve in
``book/references.bib``; no directive fence that CommonMark would not parse) need no
browser and run in ``make test-fast`` too.
"""
from __future__ import annotations

import csv
import functools
import http.server
import json
import os
import re
import shutil
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml

from conftest import ROOT

slow = pytest.mark.slow
BOOK = ROOT / "book"
CONFIG = yaml.safe_load((BOOK / "_config.yml").read_text(encoding="utf-8"))
CHROMIUM = os.environ.get("REPLICATION_CHROMIUM") or shutil.which("chromium") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}
TOLERANCE_PX = 2
CHAPTERS = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
# MyST that a reader must never see as text: a directive or role that was not parsed
RAW_MARKUP = ["```{", ":::{", "{glue:", "{glue}`", "{numref}`", "{cite}`", "{cite:", "{doc}`", "{ref}`", "{eq}`",
              "{download}`", ":file:", ":header-rows:"]


# ---------------------------------------------------------------------------------------
# JavaScript run in the page

# wait until what a reader sees is settled: images (lazy ones forced), MathJax, web fonts,
# then the book's own scroll hints (scroll-hint.js runs after MathJax)
SETTLE_JS = """
async () => {
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  document.querySelectorAll('img[loading="lazy"]').forEach((i) => { i.loading = 'eager'; });
  const pending = [...document.images].filter((i) => !i.complete).map((i) => new Promise((r) => {
    i.addEventListener('load', r, {once: true}); i.addEventListener('error', r, {once: true}); }));
  await Promise.race([Promise.all(pending), sleep(8000)]);
  if (document.querySelector('.math')) {
    for (let k = 0; k < 100 && !(window.MathJax && MathJax.startup && MathJax.startup.promise); k++) await sleep(100);
    if (window.MathJax && MathJax.startup && MathJax.startup.promise)
      await Promise.race([MathJax.startup.promise, sleep(15000)]);
  }
  if (document.fonts) await Promise.race([document.fonts.ready, sleep(3000)]);
  await sleep(250);
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
}
"""

# open every collapsed toggle of the article (the book's long tables), let the scroll hints
# follow; returns how many were opened
OPEN_TOGGLES_JS = """
async () => {
  const closed = [...document.querySelectorAll('article details:not([open])')];
  closed.forEach((d) => { d.open = true; });
  if (closed.length) {
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    await new Promise((r) => setTimeout(r, 150));
  }
  return closed.length;
}
"""

MEASURE_JS = """
(args) => {
  const tol = args.tolerance;
  const out = {innerWidth: window.innerWidth, docWidth: document.documentElement.scrollWidth,
               over: [], hinted: [], wideOnPhone: [], brokenImages: [], text: '', footer: null, repoLinks: 0,
               tables: 0, figures: 0, math: 0, mathUnrendered: 0, links: [], downloads: [], article: false};
  const px = (v) => parseFloat(v) || 0;
  const describe = (el) => {
    let s = el.tagName.toLowerCase();
    if (el.id) s += '#' + el.id;
    const cls = [...el.classList].filter((c) => !c.startsWith('CtxtMenu')).slice(0, 3);
    return cls.length ? s + '.' + cls.join('.') : s;
  };
  const visible = (el) => {
    const r = el.getBoundingClientRect(), cs = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && cs.visibility !== 'hidden' && cs.display !== 'none' && +cs.opacity > 0;
  };
  // inside a collapsed <details> (not its summary): the reader does not see it, although
  // Chrome still lays it out (content-visibility: hidden keeps its size)
  const inClosedToggle = (el) => !!el.closest('details:not([open])') && !el.closest('summary');
  const section = (el) => {
    for (let s = el.closest('section'); s; s = s.parentElement && s.parentElement.closest('section')) {
      const h = s.querySelector(':scope > h1, :scope > h2, :scope > h3, :scope > h4');
      if (h) return h.textContent.replace(/#$/, '').trim().slice(0, 80);
    }
    return '';
  };
  const snippet = (el) => (el.tagName === 'IMG' ? (el.alt || el.getAttribute('src') || '')
                           : (el.innerText || el.textContent || '')).replace(/\\s+/g, ' ').trim().slice(0, 120);
  const hintOf = (box) => {
    const math = box.tagName === 'MJX-CONTAINER' ? box.closest('div.math') : null;
    const h = (math || box).previousElementSibling;
    return h && h.classList.contains('scroll-hint') && visible(h) && h.innerText.trim() ? h.innerText.trim() : null;
  };

  document.querySelectorAll('img').forEach((img) => {
    if (!img.complete || img.naturalWidth === 0)
      out.brokenImages.push({src: img.getAttribute('src'), alt: img.alt, section: section(img)});
  });
  document.querySelectorAll('a[href]').forEach((a) => {
    if (a.origin === location.origin) out.links.push(a.href.split('#')[0]);
  });
  const footer = document.querySelector('footer .extra_footer');
  if (footer) out.footer = {text: footer.innerText.replace(/\\s+/g, ' ').trim(), visible: visible(footer)};
  out.repoLinks = [...document.querySelectorAll('a[href]')].filter((a) => a.href.replace(/\\/$/, '') === args.repo).length;

  const article = document.querySelector('article.bd-article') || document.querySelector('main');
  if (!article) return out;
  out.article = true;
  out.text = article.innerText;
  out.tables = [...article.querySelectorAll('table')].filter(visible).length;
  out.figures = [...article.querySelectorAll('img')].filter((i) => (i.getAttribute('src') || '').includes('_images/')).length;
  out.math = article.querySelectorAll('.math').length;
  out.mathUnrendered = [...article.querySelectorAll('.math')].filter((m) => !m.querySelector('mjx-container')).length;
  const dl = article.querySelector('section#downloads, section.chapter-downloads');
  if (dl) dl.querySelectorAll('a.download[href]').forEach((a) => out.downloads.push({text: a.innerText.trim(), href: a.href}));

  const ar = article.getBoundingClientRect(), acs = getComputedStyle(article);
  const col = {left: ar.left + article.clientLeft + px(acs.paddingLeft),
               right: ar.left + article.clientLeft + article.clientWidth - px(acs.paddingRight)};
  out.column = Math.round(col.right - col.left);
  const items = [];
  article.querySelectorAll('table').forEach((e) => items.push(['table', e, e.parentElement]));
  article.querySelectorAll('mjx-container[display="true"]').forEach((e) => items.push(['equation', e, e]));
  article.querySelectorAll('div.math').forEach((e) => { if (!e.querySelector('mjx-container')) items.push(['equation', e, e]); });
  article.querySelectorAll('img').forEach((e) => items.push(['image', e, e.parentElement]));
  for (const [kind, el, start] of items) {
    if (!visible(el) || inClosedToggle(el)) continue;
    if (kind === 'table' && el.parentElement.closest('table')) continue;  // measured with the outer table
    const r = el.getBoundingClientRect();
    let left = r.left, right = r.left + Math.max(r.width, el.scrollWidth);
    const inner = kind === 'equation' ? el.querySelector('mjx-math') : null;
    if (inner) { const m = inner.getBoundingClientRect(); left = Math.min(left, m.left); right = Math.max(right, m.right); }
    let clip = null;
    for (let n = start; n && n !== document.documentElement; n = n.parentElement) {
      if (getComputedStyle(n).overflowX !== 'visible') { clip = n; break; }
    }
    let box = {left: col.left, right: col.right};
    if (clip && article.contains(clip)) {
      const cr = clip.getBoundingClientRect();
      box = {left: Math.max(box.left, cr.left + clip.clientLeft), right: Math.min(box.right, cr.left + clip.clientLeft + clip.clientWidth)};
    }
    const overflow = Math.max(right - box.right, box.left - left);
    if (overflow <= tol) continue;
    const ox = clip ? getComputedStyle(clip).overflowX : 'visible';
    const scrolls = !!clip && article.contains(clip) && (ox === 'auto' || ox === 'scroll') && clip.scrollWidth > clip.clientWidth + 1;
    const entry = {kind, element: describe(el), section: section(el), text: snippet(el), width: Math.round(right - left),
                   box: Math.round(box.right - box.left), column: out.column, overflow: Math.round(overflow),
                   container: clip ? describe(clip) + ' (overflow-x: ' + ox + ')' : 'none',
                   hint: scrolls ? hintOf(clip) : null};
    (scrolls && entry.hint ? out.hinted : out.over).push(entry);
  }
  if (out.docWidth > out.innerWidth) {  // what sticks out of the window, innermost first
    const unclipped = (e) => { for (let n = e.parentElement; n && n !== document.body; n = n.parentElement)
      if (getComputedStyle(n).overflowX !== 'visible') return false; return true; };
    const wide = [...document.body.querySelectorAll('*')].filter((e) => visible(e)
      && e.getBoundingClientRect().right > out.innerWidth + 1 && unclipped(e));
    const leaves = wide.filter((e) => !wide.some((o) => o !== e && e.contains(o)));
    out.wideOnPhone = leaves.slice(0, 8).map((e) => ({element: describe(e), section: section(e), text: snippet(e),
      right: Math.round(e.getBoundingClientRect().right)}));
  }
  return out;
}
"""


# ---------------------------------------------------------------------------------------
# the visits

def _pages(html: Path) -> tuple[list[str], dict[str, str]]:
    """Every HTML page of the book (relative paths) and the redirect pages with their target."""
    pages, redirects = [], {}
    for p in sorted(html.rglob("*.html")):
        rel = p.relative_to(html)
        if any(part.startswith("_") for part in rel.parts):
            continue
        head = p.read_text(encoding="utf-8", errors="replace")[:2000]
        m = re.search(r'http-equiv="refresh"\s+content="\d+;\s*url=([^"]+)"', head, re.I)
        if m:
            redirects[rel.as_posix()] = m[1]
        else:
            pages.append(rel.as_posix())
    return pages, redirects


def _serve(directory: Path):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(directory)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}"


def _repository_url() -> str:
    return str((CONFIG.get("repository") or {}).get("url", "")).rstrip("/")


@pytest.fixture(scope="session")
def book_server(book_html):
    """The built book on http://127.0.0.1:<free port>, for the whole session."""
    httpd, url = _serve(book_html)
    yield url
    httpd.shutdown()


@pytest.fixture(scope="session")
def visits(book_html, book_server):
    """``{"pages", "redirects", "server", "results": {(width_name, page): measurement}, "events"}``."""
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (it is pinned in requirements.txt)")
    pages, redirects = _pages(book_html)
    shots = Path(os.environ.get("REPLICATION_SCREENSHOTS", ROOT / "_runs" / "screenshots"))
    server = book_server
    results, events = {}, {"failed": [], "status": [], "foreign": [], "errors": []}
    t0 = time.perf_counter()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        for name, (w, h) in WIDTHS.items():
            context = browser.new_context(viewport={"width": w, "height": h}, device_scale_factor=1)
            page = context.new_page()
            current = {"page": None}
            where = lambda: f"{current['page']} @ {w}px"  # noqa: E731
            page.on("requestfailed", lambda r: events["failed"].append(
                (where(), r.url, (r.failure or "failed"))))
            page.on("response", lambda r: r.status >= 400 and events["status"].append((where(), r.url, r.status)))
            page.on("request", lambda r: (not r.url.startswith((server, "data:", "blob:", "about:")))
                    and events["foreign"].append((where(), r.url)))
            page.on("pageerror", lambda e: events["errors"].append((where(), str(e))))
            (shots / str(w)).mkdir(parents=True, exist_ok=True)
            for rel in pages:
                current["page"] = rel
                page.goto(f"{server}/{rel}", wait_until="load", timeout=60_000)
                page.evaluate(SETTLE_JS)
                args = {"tolerance": TOLERANCE_PX, "repo": _repository_url()}
                results[(name, rel)] = page.evaluate(MEASURE_JS, args)
                page.screenshot(path=str(shots / str(w) / (rel.replace("/", "__")[:-5] + ".png")),
                                full_page=(name == "desktop"))  # the phone's first screen only: time
                if page.evaluate(OPEN_TOGGLES_JS):  # what a reader sees who opens every toggle
                    opened, seen = page.evaluate(MEASURE_JS, args), results[(name, rel)]
                    known = {(e["kind"], e["element"], e["text"]) for e in seen["over"] + seen["hinted"]}
                    results[(name, rel)]["opened"] = {  # only what the toggles hid
                        k: [e for e in opened[k] if (e["kind"], e["element"], e["text"]) not in known]
                        for k in ("over", "hinted")}
            context.close()
        browser.close()
    (shots / "README.txt").write_text(json.dumps({"made by": "tests/test_browser.py", "pages": len(pages),
                                                  "seconds": round(time.perf_counter() - t0, 1)}))
    return {"pages": pages, "redirects": redirects, "server": server, "results": results, "events": events,
            "html": book_html}


def _report(title: str, lines: list[str]) -> str:
    return f"{title} ({len(lines)}):\n  " + "\n  ".join(lines)


def _describe(page: str, width: str, e: dict) -> str:
    return (f"{page} @ {WIDTHS[width][0]}px: {e['kind']} {e['element']} in '{e['section']}' "
            f"is {e['width']} px wide, its box {e['box']} px (column {e['column']} px, container "
            f"{e['container']}), {e['overflow']} px hidden/spilling; text: {e['text'][:90]!r}")


# ---------------------------------------------------------------------------------------
# the checks in the browser

@slow
def test_every_page_of_the_book_was_visited(visits):
    pages = visits["pages"]
    assert {f"chapters/{c}.html" for c in CHAPTERS} <= set(pages)
    toc = yaml.safe_load((BOOK / "_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]] + [c["file"] for part in toc["parts"] for c in part["chapters"]]
    assert {f"{f}.html" for f in files} <= set(pages)
    for page, target in visits["redirects"].items():
        assert (visits["html"] / Path(page).parent / target).exists(), f"{page} redirects to a missing {target}"
    assert len(visits["results"]) == len(pages) * len(WIDTHS)


@slow
def test_desktop_no_table_equation_or_image_is_wider_than_its_box(visits):
    """At 1280 px everything fits the article column: a table that scrolls in its own box,
    even with a scroll hint, is an offence too (split, transpose or reduce it; the full
    table is in the chapter's CSV)."""
    over, scrolled = [], []
    for (width, page), r in sorted(visits["results"].items()):
        if width == "desktop":
            for m, when in ((r, ""), (r.get("opened", {}), " (toggles opened)")):
                over += [_describe(page, width, e) + when for e in m.get("over", [])]
                scrolled += [_describe(page, width, e) + when for e in m.get("hinted", [])]
    assert not over + scrolled, "\n".join(
        _report(title, lines) for title, lines in (("clipped or spilling over the column at 1280 px", over),
                                                    ("wider than the column at 1280 px (scrolling in their own box)",
                                                     scrolled)) if lines)


@slow
def test_phone_page_never_scrolls_sideways(visits):
    bad = []
    for (width, page), r in sorted(visits["results"].items()):
        if width == "phone" and r["docWidth"] > r["innerWidth"]:
            culprits = "; ".join(f"{e['element']} in '{e['section']}' ends at {e['right']} px ({e['text'][:50]!r})"
                                 for e in r["wideOnPhone"])
            bad.append(f"{page}: the page is {r['docWidth']} px wide in a {r['innerWidth']} px window; {culprits}")
    assert not bad, _report("pages that scroll sideways at 390 px", bad)


@slow
def test_phone_wide_content_scrolls_in_its_own_box_with_a_hint(visits):
    bad = [_describe(page, width, e) + when for (width, page), r in sorted(visits["results"].items())
           if width == "phone" for m, when in ((r, ""), (r.get("opened", {}), " (toggles opened)"))
           for e in m.get("over", [])]
    assert not bad, _report("clipped without a scroll hint at 390 px", bad)


@slow
def test_no_request_fails(visits):
    bad = [f"{where}: {url} failed ({why})" for where, url, why in visits["events"]["failed"]]
    bad += [f"{where}: {url} answered {status}" for where, url, status in visits["events"]["status"]]
    assert not bad, _report("failed requests", bad)


@slow
def test_nothing_is_fetched_off_the_machine(visits):
    bad = [f"{where}: {url}" for where, url in visits["events"]["foreign"]]
    assert not bad, _report("requests that leave the machine", bad)


@slow
def test_every_image_loads(visits):
    bad = [f"{page} @ {WIDTHS[width][0]}px: {i['src']} ({i['alt']!r}) in '{i['section']}'"
           for (width, page), r in sorted(visits["results"].items()) for i in r["brokenImages"]]
    assert not bad, _report("images that did not load (naturalWidth 0)", bad)


@slow
def test_no_raw_markup_is_visible(visits):
    bad = []
    for (width, page), r in sorted(visits["results"].items()):
        if width != "desktop":
            continue
        for token in RAW_MARKUP:
            for m in re.finditer(re.escape(token), r["text"]):
                around = r["text"][max(0, m.start() - 60):m.end() + 60].replace("\n", " ")
                bad.append(f"{page}: {token!r} in ...{around}...")
    assert not bad, _report("raw directive or role text on the page", bad)


@slow
def test_footer_and_repository_link_on_every_page(visits):
    expected = re.sub(r"<[^>]+>", " ", CONFIG["html"]["extra_footer"])
    expected = re.sub(r"\s+", " ", expected).strip()[:60]
    repo = _repository_url()
    assert expected and repo, "_config.yml sets html.extra_footer and repository.url"
    bad = []
    for (width, page), r in sorted(visits["results"].items()):
        f = r["footer"]
        if f is None or not f["visible"]:
            bad.append(f"{page} @ {WIDTHS[width][0]}px: no visible footer (footer .extra_footer)")
        elif expected not in f["text"]:
            bad.append(f"{page} @ {WIDTHS[width][0]}px: the footer reads {f['text'][:80]!r}, not the configured text")
        if r["repoLinks"] < 1:
            bad.append(f"{page} @ {WIDTHS[width][0]}px: no link to {repo}")
    assert not bad, _report("pages without the configured footer or the repository link", bad)


@slow
def test_chapters_show_tables_figures_and_typeset_math(visits):
    bad = []
    for ch in CHAPTERS:
        r = visits["results"][("desktop", f"chapters/{ch}.html")]
        if r["tables"] == 0:
            bad.append(f"{ch}: no table rendered")
        if "glue:figure" in (ROOT / "notebooks" / f"{ch}.ipynb").read_text(encoding="utf-8") and r["figures"] == 0:
            bad.append(f"{ch}: no figure rendered")
        if "Traceback" in r["text"]:
            bad.append(f"{ch}: an error is printed on the page")
        if r["mathUnrendered"]:
            bad.append(f"{ch}: {r['mathUnrendered']} of {r['math']} formulas not typeset by MathJax")
    assert not bad, _report("chapters that do not render", bad)


@slow
def test_no_script_error_on_any_page(visits):
    bad = [f"{where}: {msg[:200]}" for where, msg in visits["events"]["errors"]]
    assert not bad, _report("uncaught script errors", bad)


@slow
def test_every_chapter_offers_each_of_its_tables_as_csv(visits, book_project):
    bad = []
    outputs = book_project / "book" / "chapters" / "outputs"
    pages = {f"chapters/{c}.html": sorted(p.name for p in (outputs / c).glob("*.csv")) for c in CHAPTERS}
    pages["reproducibility.html"] = sorted(p.name for p in outputs.glob("*.csv"))
    for page, expected in pages.items():
        links = visits["results"][("desktop", page)]["downloads"]
        shown = sorted(Path(urllib.parse.urlparse(d["href"]).path).name for d in links)
        if shown != expected:
            bad.append(f"{page}: the Downloads section links {shown}, the run wrote {expected}")
        folder = outputs if page == "reproducibility.html" else outputs / Path(page).stem
        for d in links:
            name = Path(urllib.parse.urlparse(d["href"]).path).name
            try:
                with urllib.request.urlopen(d["href"], timeout=10) as resp:
                    body = resp.read()
            except urllib.error.URLError as e:
                bad.append(f"{page}: {d['href']} -> {e}")
                continue
            header = (folder / name).read_bytes().split(b"\n", 1)[0] if (folder / name).exists() else None
            if body.split(b"\n", 1)[0] != header:
                bad.append(f"{page}: {d['href']} does not start with the header of the run's {name}")
    assert not bad, _report("chapters whose CSV tables cannot be downloaded", bad)


@slow
def test_every_internal_link_resolves(visits):
    urls = sorted({u for r in visits["results"].values() for u in r["links"]})
    bad = []
    for u in urls:
        try:
            with urllib.request.urlopen(u, timeout=10) as resp:
                resp.read(1)
        except urllib.error.HTTPError as e:
            bad.append(f"{u}: {e.code}")
        except urllib.error.URLError as e:
            bad.append(f"{u}: {e.reason}")
    assert urls and not bad, _report("internal links that do not resolve", bad)


@slow
def test_reproducibility_page_shows_the_versions_and_the_run_record(visits, book_html):
    """Every cell of the run's records as the build saw them (the copies the book offers for
    download) is on the page: package versions, run times, the data."""
    quotes = str.maketrans("“”‘’", "\"\"''")  # Sphinx's smart quotes
    text = visits["results"][("desktop", "reproducibility.html")]["text"].translate(quotes)
    missing = []
    for name in ("environment.csv", "run_summary.csv", "data_source.csv", "parameters.csv"):
        copies = sorted((book_html / "_downloads").glob(f"*/{name}"))
        if not copies:
            missing.append(f"{name}: not offered for download")
            continue
        with open(copies[0], newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))[1:]
        missing += [f"{name}: {' | '.join(row)}" for row in rows
                    if any(cell.strip() and cell.strip() not in text for cell in row)]
    assert not missing, _report("rows of the run record missing from the reproducibility page", missing)


# the parameters table of a chapter, opened: each row's box and font (issue 18)
PARAMETERS_JS = """
() => {
  const d = document.querySelector('article details.parameters-table');
  if (!d) return null;
  d.open = true;
  const col = document.querySelector('article.bd-article').getBoundingClientRect();
  return {column: [col.left, col.right], docWidth: document.documentElement.scrollWidth,
          rows: [...d.querySelectorAll('tbody tr')].map((tr) => {
            const r = tr.getBoundingClientRect();
            const cells = [...tr.querySelectorAll('td')].map((td) => ({
              text: td.innerText.trim(), label: getComputedStyle(td, '::before').content,
              left: td.getBoundingClientRect().left,
              right: td.getBoundingClientRect().right, font: parseFloat(getComputedStyle(td).fontSize),
              visible: td.getBoundingClientRect().width > 0 && getComputedStyle(td).display !== 'none'}));
            return {left: r.left, right: r.right, cells};
          })};
}
"""


@slow
def test_every_chapter_shows_its_parameters_legibly_on_a_phone(book_server):
    """At 390 px the table "Parameters of this chapter" (opened) fits the article column:
    every cell of every row visible, inside the column, in at least 12 px, each value
    labelled; the page does not scroll sideways."""
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    from playwright.sync_api import sync_playwright

    problems = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=1)
        for chapter in CHAPTERS:
            page.goto(f"{book_server}/chapters/{chapter}.html", wait_until="load", timeout=60_000)
            page.evaluate(SETTLE_JS)
            got = page.evaluate(PARAMETERS_JS)
            if not got or not got["rows"]:
                problems.append(f"{chapter}: no parameters table")
                continue
            left, right = got["column"]
            if got["docWidth"] > 390 + TOLERANCE_PX:
                problems.append(f"{chapter}: the page is {got['docWidth']} px wide with the table open")
            for row in got["rows"]:
                name = row["cells"][0]["text"]
                for cell in row["cells"]:
                    if not cell["visible"] or cell["font"] < 12:
                        problems.append(f"{chapter}: {name}: a cell hidden or in {cell['font']} px: {cell['text']!r}")
                    elif cell["left"] < left - TOLERANCE_PX or cell["right"] > right + TOLERANCE_PX:
                        problems.append(f"{chapter}: {name}: {cell['text']!r} spans {cell['left']:.0f}–"
                                        f"{cell['right']:.0f} px, outside the column {left:.0f}–{right:.0f} px")
                labels = [c["label"].strip('"').rstrip(": ") for c in row["cells"][1:]]
                if labels != ["Type", "Value in this run", "Meaning", "Set by"]:
                    problems.append(f"{chapter}: {name}: the lines are not labelled: {labels}")
        browser.close()
    assert not problems, _report("parameters tables that a phone does not show whole", problems)


# ---------------------------------------------------------------------------------------
# static checks: citations and directive syntax (no browser, fast)

def _bib_entries() -> dict[str, tuple[str, list[str]]]:
    """key -> (year, surnames of the authors) from book/references.bib."""
    from pybtex.database import parse_file

    out = {}
    for key, e in parse_file(str(BOOK / "references.bib")).entries.items():
        names = [" ".join(p.prelast_names + p.last_names).replace("{", "").replace("}", "")
                 for p in e.persons.get("author", [])]
        out[key] = (e.fields.get("year", ""), names)
    return out


def _prose() -> list[tuple[str, str]]:
    """(where, text) of every page and notebook markdown cell a reader sees, with included
    files; code spans, fenced code and math are blanked (they are not prose)."""
    import nbformat

    items = []
    for p in sorted(BOOK.glob("*.md")):
        text = p.read_text(encoding="utf-8")
        items.append((p.relative_to(ROOT).as_posix(), text))
        for inc in re.findall(r"```\{include\}\s+(\S+)", text):
            target = (p.parent / inc).resolve()
            if target.exists() and target.suffix == ".md" and BOOK / "chapters" not in target.parents:
                items.append((target.relative_to(ROOT).as_posix(), target.read_text(encoding="utf-8")))
    for nb in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        cells = nbformat.read(nb, as_version=4).cells
        items += [(f"{nb.relative_to(ROOT).as_posix()} cell {c.get('id', i)}", c.source)
                  for i, c in enumerate(cells) if c.cell_type == "markdown"]
    items.append(("book/_config.yml html.extra_footer", CONFIG["html"]["extra_footer"]))
    return items


def _blank_code(text: str) -> str:
    """The text with fenced code, math and code spans blanked; the body of a directive
    (```{admonition} ...) is prose and kept."""
    out, fences = [], []  # open fences: (fence, is a code block)
    for line in text.splitlines():
        m = re.match(r"\s*(`{3,}|~{3,})(.*)$", line)
        in_code = bool(fences) and fences[-1][1]
        if m:
            fence, info = m[1], m[2].strip()
            if fences and fence[0] == fences[-1][0][0] and len(fence) >= len(fences[-1][0]) and not info:
                fences.pop()
                out.append("")
                continue
            if not in_code and not (fence[0] == "`" and "`" in info):
                fences.append((fence, not info.startswith("{")))
                out.append("")
                continue
        out.append("" if in_code else line)
    text = "\n".join(out)
    text = re.sub(r"\$\$.*?\$\$|\$[^$\n]+\$", " ", text, flags=re.S)
    return re.sub(r"(?<!\})`[^`\n]*`", " ", text)  # code spans, not role arguments


NAME = r"[A-Z][\w'’\-]+"
AUTHORS = rf"{NAME}(?:(?:,\s+|\s+and\s+|\s*&\s*|\s+){NAME})*(?:\s+et\s+al\.)?"
# "Hansen (1999)", "Sun and Abraham (2021)", "Han Wenlong et al. (2024)", "Hansen's (1999)";
# inside parentheses "(Leuven and Sianesi 2003)", "(Imai, Keele and Tingley 2010; ...)",
# "Bai 1997", "State Council 2014": a name followed by a year
MENTION = re.compile(rf"(?P<who>{AUTHORS})(?:'s|’s)?,?\s+\(?(?P<year>(?:19|20)\d\d)[a-z]?\b")
NOT_AUTHORS = {"Table", "Tables", "Figure", "Figures", "Fig", "Chapter", "Section", "Batch", "Census", "In", "From",
               "Since", "Until", "Before", "After", "And", "The", "Last", "January", "February", "March", "April",
               "May", "June", "July", "August", "September", "October", "November", "December"}


def _place_names() -> set[str]:
    """City and province names (pinyin) of the roster: "Chaohu 2011" is a date, not a citation."""
    from replication._paths import REFERENCE_DIR

    names = set()
    for path in (REFERENCE_DIR / "cities.csv", ROOT / "data" / "reference" / "cities.csv"):
        if path.exists():
            with open(path, newline="", encoding="utf-8") as f:
                for row in csv.DictReader(f):
                    names.update(w for col in ("city_en", "province_en") for w in re.split(r"[\s,]+", row[col] or "")
                                 if w)
            break
    return names


def _find_mentions(text: str, places: set[str]) -> list[tuple[str, str]]:
    """(names, year) of the author-year mentions in ``text``; place names with a year and
    words such as "Table" are not authors."""
    found = []
    for m in MENTION.finditer(_blank_code(text)):
        words = [re.sub(r"['’]s$", "", w) for w in re.findall(NAME, m["who"])]
        while words and words[0] in NOT_AUTHORS:
            words.pop(0)
        if not words or all(w in places or w in NOT_AUTHORS for w in words):
            continue
        found.append((" ".join(words), m["year"]))
    return found


def _mentions() -> list[tuple[str, str, str]]:
    """(where, names, year) of every author-year mention in the prose."""
    places = _place_names()
    return [(where, who, year) for where, text in _prose() for who, year in _find_mentions(text, places)]


def test_every_cite_key_is_in_the_bibliography():
    keys = set(_bib_entries())
    role = re.compile(r"\{cite(?::[a-z]+)?\}`([^`]+)`")
    bad = [f"{where}: {{cite}}`{k}`" for where, text in _prose() for group in role.findall(text)
           for k in (s.strip() for s in group.split(",")) if k not in keys]
    assert not bad, _report("citation keys missing from book/references.bib", bad)


def test_every_author_year_mention_has_a_bibliography_entry():
    entries = _bib_entries()
    mentions = _mentions()
    assert any(year == "1999" and "Hansen" in who for _, who, year in mentions), "the mention finder finds nothing"
    bad = []
    for where, who, year in mentions:
        words = set(who.split())
        if not any(y == year and names and (set(names[0].split()) & words) for y, names in entries.values()):
            bad.append(f"{where}: '{who} {year}' has no entry (first author, year) in book/references.bib")
    assert not bad, _report("works mentioned by author and year but not in the bibliography", bad)


def test_the_mention_finder_tells_citations_from_dates():
    """Guards the check above against passing vacuously or flagging place names."""
    places = _place_names()
    assert {"Chaohu", "Laiwu"} <= places
    text = ("Entropy weights as in Han Wenlong et al. (2024) and Ma Dan (2025); Sobel (1982);\n"
            "psmatch2 (Leuven and Sianesi 2003); the refinement of Bai 1997 and Hansen 1999;\n"
            "## Appendix: Hansen's (1999) data\n"
            "Imai, Keele and Tingley (2010). Cities created inside the span (Chaohu 2011, Laiwu 2019)\n"
            "are out; Table 5 (2014); `first_year = 2011`.\n"
            "```\nSmith (2001) inside a code block\n```\n"
            "```{admonition} Note\nJones (2002) inside a directive\n```\n")
    assert _find_mentions(text, places) == [
        ("Han Wenlong", "2024"), ("Ma Dan", "2025"), ("Sobel", "1982"), ("Leuven Sianesi", "2003"),
        ("Bai", "1997"), ("Hansen", "1999"), ("Hansen", "1999"), ("Imai Keele Tingley", "2010"),
        ("Jones", "2002")]


def test_no_directive_fence_carries_a_backtick_in_its_argument():
    """CommonMark forbids backticks in the info string of a backtick fence: such a
    "```{csv-table} ... `code`" line is not a directive but text, and the fence after it
    swallows the rest of the page (how the reproducibility page once showed raw
    ```{csv-table} ... :file: text and no versions). Use a colon fence or no backticks."""
    bad = []
    for p in sorted(BOOK.glob("*.md")):
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
            m = re.match(r"\s*(`{3,})\{[\w:-]+\}(.*)$", line)
            if m and "`" in m[2]:
                bad.append(f"{p.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not bad, _report("directive fences that CommonMark reads as text", bad)


def test_footer_and_repository_are_configured():
    assert CONFIG["html"].get("extra_footer", "").strip()
    assert CONFIG["html"].get("use_repository_button") is True
    assert re.match(r"https://(github\.com|gitlab\.com|bitbucket\.org)/[^/]+/[^/]+$", _repository_url())
    # without recursive_update, sphinx.config.html_theme_options replaces the footer and
    # repository options that jupyter-book derives from html: and repository:
    assert CONFIG["sphinx"].get("recursive_update") is True
