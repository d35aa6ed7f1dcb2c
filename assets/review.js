/* The review page's client side: writing the filter controls' state into the URL, and opening an enterprise
   clicked in the funnel plot.

   Done here rather than on the server because it is pure string work and every filter change starts with it:
   a server round trip (60-100 ms) before the page's own request is time the leader waits for nothing.
   The query must equal what the server writes for the same state (layouts/review.py review_href and
   data/screens/review.py ReviewFilters.to_query): keys in the same order, empty values left out, `ytd` left out,
   then `row` (unless the default) and `lang=en`, encoded as Python's urlencode does (quote_plus, UTF-8).
   tests/test_review_url_js.py runs this file in node against the Python for many states. */
(function () {
  "use strict";
  var DEFAULT_ROW = "incidents:total";  // data/screens/review.py DEFAULT_ROW
  var KEYS = ["period", "first", "last", "station", "park", "enterprise", "sector", "category",
              "enterprise_only"];  // the fields of ReviewFilters, in order

  /* Python's urllib.parse.quote_plus: everything but letters, digits and _.-~ percent-encoded (UTF-8), space as +. */
  function quotePlus(value) {
    return encodeURIComponent(value)
      .replace(/[!'()*]/g, function (c) { return "%" + c.charCodeAt(0).toString(16).toUpperCase(); })
      .replace(/%20/g, "+");
  }

  function urlencode(pairs) {
    return pairs.map(function (p) { return quotePlus(p[0]) + "=" + quotePlus(p[1]); }).join("&");
  }

  /* The last non-empty value of each key, as Python's parse_qs (blank values dropped) and then v[-1]. */
  function lastValues(search) {
    var found = {};
    new URLSearchParams(String(search || "").replace(/^\?/, "")).forEach(function (value, key) {
      if (value !== "") { found[key] = value; }
    });
    return found;
  }

  function present(value) {
    return value !== null && value !== undefined && value !== "" && value !== false;
  }

  function day(value) {
    return present(value) ? String(value).slice(0, 10) : null;  // the pickers may add a time
  }

  /* An enterprise id as data/screens/review.py from_query reads it (ASCII digits, at most 10, from 1 to 2^31 - 1), else null. */
  function enterpriseId(text) {
    if (!/^[0-9]{1,10}$/.test(text || "")) { return null; }
    var value = parseInt(text, 10);
    return value > 0 && value < 2147483648 ? String(value) : null;
  }

  /* The URL query for the controls' state: the enterprise (which no control shows) and the selected book row
     are kept from the current URL. */
  function reviewSearch(period, first, last, station, park, sector, category, enterpriseOnly, search, lang) {
    var current = lastValues(search);
    var custom = period === "custom";
    var enterprise = enterpriseId(current.enterprise);
    var values = {
      period: present(period) ? period : "ytd",
      first: custom ? day(first) : null,
      last: custom ? day(last) : null,
      station: station, park: park, enterprise: enterprise, sector: sector, category: category,
      enterprise_only: Array.isArray(enterpriseOnly) && enterpriseOnly.length > 0
    };
    var pairs = [];
    KEYS.forEach(function (key) {
      var value = values[key];
      if (!present(value) || (key === "period" && value === "ytd")) { return; }
      pairs.push([key, value === true ? "1" : String(value)]);
    });
    var extra = [];
    if (current.row && current.row !== DEFAULT_ROW) { extra.push(["row", current.row]); }
    if (lang === "en") { extra.push(["lang", "en"]); }
    var joined = [urlencode(pairs), urlencode(extra)].filter(function (p) { return p; }).join("&");
    return joined ? "?" + joined : "";
  }

  /* The callback: a new history entry with the state, unless the URL already holds it; a custom period waits
     until both of its dates are chosen. */
  function writeUrl(period, first, last, station, park, sector, category, enterpriseOnly, search, lang) {
    var noUpdate = window.dash_clientside.no_update;
    if (period === "custom" && !(day(first) && day(last))) { return noUpdate; }
    var wanted = reviewSearch(period, first, last, station, park, sector, category, enterpriseOnly, search, lang);
    return wanted === String(search || "") ? noUpdate : wanted;
  }

  /* A click on an enterprise of the funnel plot opens its profile (customdata[0] is its id; points shared by
     several enterprises carry none, and a Graph drawn anew reports no click): the same address the server's
     links use (layouts/review.py unit_href), without a round trip. */
  function openEnterprise(click, lang) {
    var noUpdate = window.dash_clientside.no_update;
    var point = click && Array.isArray(click.points) && click.points[0];
    var custom = point && point.customdata;
    var id = Array.isArray(custom) && typeof custom[0] === "number" && Number.isInteger(custom[0]) ?
      enterpriseId(String(custom[0])) : null;
    if (id === null) { return [noUpdate, noUpdate]; }
    return ["/enterprise/" + id, lang === "en" ? "?lang=en" : ""];
  }

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    review: { writeUrl: writeUrl, reviewSearch: reviewSearch, openEnterprise: openEnterprise }
  });
})();
