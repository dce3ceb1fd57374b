// Keyword filter for the papers and the whole-day list: progressive enhancement, the page is complete
// without it. Every word typed must occur in a paper's text; other papers and their contents entries hide.
// It runs right after its box, before the papers are parsed, so the box shows before they are
// painted (no layout shift); it reads the papers at the first keystroke.
(function () {
  "use strict";
  var box = document.getElementById("paper-filter");
  if (!box) { return; }
  var input = document.createElement("input");
  input.type = "search";
  input.placeholder = "Filter papers by keyword";
  input.setAttribute("aria-label", "Filter papers by keyword");
  var count = document.createElement("span");
  count.className = "count";
  count.setAttribute("aria-live", "polite");
  box.appendChild(input);
  box.appendChild(count);
  box.hidden = false;
  var entries = null;
  var all = null;  // the folded whole-day list, below the script: found at the first keystroke
  function read() {
    all = document.querySelector("details.all-papers");
    return Array.prototype.map.call(document.querySelectorAll("article.paper, li.listed"), function (paper) {
      var link = document.querySelector('#contents a[href="#' + paper.id + '"]');
      return { paper: paper, text: paper.textContent.toLowerCase(), item: link ? link.parentNode : null,
               listed: paper.tagName === "LI" };
    });
  }
  input.addEventListener("input", function () {
    entries = entries || read();
    var words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
    var shown = 0, listed = 0, papers = 0;
    entries.forEach(function (e) {
      var hit = words.every(function (w) { return e.text.indexOf(w) !== -1; });
      e.paper.hidden = !hit;
      if (e.item) { e.item.hidden = !hit; }
      if (e.listed) { listed += hit ? 1 : 0; } else { papers += 1; shown += hit ? 1 : 0; }
    });
    // A match in the folded whole-day list opens it; clearing the box leaves it as the reader had it.
    if (all && words.length && listed) { all.open = true; }
    count.textContent = words.length ? shown + " of " + papers + " papers, " + listed + " in the whole day" : "";
  });
}());
