/* Links with the "nav" class (tables drawn as one block of HTML, layouts/markup.py) move within the app
   without reloading the page: push the address and tell dcc.Location, as dcc.Link does. A link with
   data-keep carries the named parameters of the current address over (period, topic, ...). A click with a
   modifier key (new tab, new window) is left to the browser. */
document.addEventListener("click", function (event) {
  var a = event.target.closest ? event.target.closest("a.nav") : null;
  if (!a || event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  if (a.target && a.target !== "_self") return;
  if (a.origin !== window.location.origin) return;
  event.preventDefault();
  var search = a.search;
  var keep = a.getAttribute("data-keep");  // parameters of the current address the link carries over
  if (keep) {
    var target = new URLSearchParams(a.search), current = new URLSearchParams(window.location.search);
    keep.split(",").forEach(function (name) {
      if (!target.has(name) && current.has(name)) target.set(name, current.get(name));
    });
    search = target.toString() ? "?" + target.toString() : "";
  }
  window.history.pushState({}, "", a.pathname + search + a.hash);
  window.dispatchEvent(new CustomEvent("_dashprivate_pushstate"));
});

/* Download links carry the page's current filters: /export/... plus the address's query. */
document.addEventListener("click", function (event) {
  var a = event.target.closest ? event.target.closest("a.download[data-export]") : null;
  if (a) a.href = a.getAttribute("data-export") + window.location.search;
}, true);
