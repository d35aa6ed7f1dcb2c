/* Dash's renderer records every prop change in its undo history (store.history.past) and never trims it:
   on a wall that polls every second or two for weeks that is an unbounded list (measured: about 2.4
   entries a second). Nothing here uses undo/redo, so keep only the last few entries, once a minute.
   The array is trimmed in place; no component renders from it. */
(function () {
  var KEEP = 20;
  function trim() {
    var stores = window.dash_stores || (window.store ? [window.store] : []);
    stores.forEach(function (store) {
      var history = store && store.getState && store.getState().history;
      if (history && Array.isArray(history.past) && history.past.length > KEEP) {
        history.past.splice(0, history.past.length - KEEP);
      }
    });
  }
  setInterval(trim, 60000);
})();
