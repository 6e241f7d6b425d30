// Wide tables and display equations scroll inside their own box (custom.css); whenever
// one is wider than its box, a visible line above it says so.  The hint follows the
// width: it appears and disappears as the window is resized.  tests/test_browser.py
// accepts content that is wider than its box only in such a box with such a hint.
(function () {
  "use strict";
  var BOXES = [
    ".bd-article .pst-scrollable-table-container",
    ".bd-article .cell_output .output.text_html",
    ".bd-article mjx-container[display=\"true\"]",
  ].join(", ");
  var TEXT = {
    table: "\u21c6 This table is wider than the page: scroll it sideways to see every column.",
    equation: "\u21c6 This equation is wider than the page: scroll it sideways to see all of it.",
  };

  // the hint goes right above the box; above a display equation's div.math (a flex row
  // with the equation number) rather than inside it
  function anchorOf(box) {
    var math = box.tagName.toLowerCase() === "mjx-container" ? box.closest("div.math") : null;
    return math || box;
  }

  function hintOf(box) {
    var prev = anchorOf(box).previousElementSibling;
    return prev && prev.classList.contains("scroll-hint") ? prev : null;
  }

  function update(box) {
    var over = box.scrollWidth > box.clientWidth + 1;
    var hint = hintOf(box);
    if (over && !hint) {
      hint = document.createElement("div");
      hint.className = "scroll-hint";
      hint.textContent = box.tagName.toLowerCase() === "mjx-container" ? TEXT.equation : TEXT.table;
      anchorOf(box).parentNode.insertBefore(hint, anchorOf(box));
    }
    if (hint) {
      hint.hidden = !over;
    }
    if (over) {
      box.setAttribute("tabindex", "0");  // reachable and scrollable with the keyboard
    }
  }

  var observer = "ResizeObserver" in window ? new ResizeObserver(function (entries) {
    entries.forEach(function (e) { update(e.target); });
  }) : null;

  function scan() {
    document.querySelectorAll(BOXES).forEach(function (box) {
      if (!box.dataset.scrollHint) {
        box.dataset.scrollHint = "watched";
        if (observer) { observer.observe(box); }
      }
      update(box);
    });
  }

  // MathJax typesets after the page has loaded: scan again once it is done.
  function afterMathJax(tries) {
    var mj = window.MathJax;
    if (mj && mj.startup && mj.startup.promise) {
      mj.startup.promise.then(scan);
    } else if (tries > 0) {
      setTimeout(function () { afterMathJax(tries - 1); }, 200);
    }
  }

  document.addEventListener("DOMContentLoaded", scan);
  window.addEventListener("load", function () { scan(); afterMathJax(50); });
  window.addEventListener("resize", scan);
})();
