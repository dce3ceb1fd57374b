// The search page: Pagefind's UI over every year's index bundle (the newest one's UI, the others
// merged into it), running the query of ?q= that the search box of the day and archive pages sends.
(function () {
  "use strict";
  var box = document.getElementById("search");
  if (location.protocol === "file:") {
    // A page opened as a file may fetch nothing, so the index cannot load: say so instead.
    document.getElementById("search-offline").hidden = false;
    return;
  }
  var bundles = box.getAttribute("data-bundles").split(" ").filter(Boolean);
  if (!bundles.length || typeof PagefindUI === "undefined") { return; }
  // Result URLs are relative to the top of the site, which is this page's folder wherever the site
  // is deployed (a subpath of a host too); each bundle is named by its path for the same reason.
  var base = new URL(".", location.href).pathname;
  var path = function (bundle) { return new URL(bundle, location.href).pathname; };
  var ui = new PagefindUI({
    element: box,
    bundlePath: path(bundles[0]),
    baseUrl: base,
    mergeIndex: bundles.slice(1).map(function (b) { return { bundlePath: path(b), baseUrl: base }; }),
    showSubResults: true,
    showImages: false,
    autofocus: true
  });
  var query = new URLSearchParams(location.search).get("q");
  if (query) { ui.triggerSearch(query); }
}());
