// When the session ends (expired, logged out elsewhere, token revoked), Dash's callbacks answer 401: go to the
// login page and come back here afterwards, instead of leaving a page that silently stops updating.
(function () {
  var original = window.fetch;
  if (!original) { return; }
  window.fetch = function (input, init) {
    return original.apply(this, arguments).then(function (response) {
      var url = typeof input === "string" ? input : (input && input.url) || "";
      if (response.status === 401 && url.indexOf("/_dash-") !== -1) {
        var here = window.location.pathname + window.location.search;
        window.location.assign("/login?reason=expired&next=" + encodeURIComponent(here));
        return new Promise(function () {});  // the page is leaving: Dash never sees (or half-reads) this answer
      }
      return response;
    });
  };
})();
