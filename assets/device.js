// A wall screen's login: the device token rides in the URL fragment (/device#token=…&next=/?kiosk=1), which is
// never sent to the server or written to a log; this posts it once with the form's CSRF token, then forgets it.
(function () {
  var form = document.getElementById("device-form");
  if (!form || form.getAttribute("data-auto") !== "1") { return; }
  var params = new URLSearchParams(window.location.hash.replace(/^#/, ""));
  var token = params.get("token");
  if (!token) { return; }
  document.getElementById("device-token").value = token;
  document.getElementById("device-next").value = params.get("next") || "/?kiosk=1";
  history.replaceState(null, "", window.location.pathname);
  form.submit();
})();
