// issuebox console: the overview's live list of events (server-sent events from
// /console/events/stream). Text only: nothing from the stream is parsed as HTML.
"use strict";
(function () {
  var table = document.getElementById("live-events");
  if (!table || !window.EventSource) { return; }
  var body = table.tBodies[0];
  var state = document.getElementById("live-state");
  var source = new EventSource("/console/events/stream");
  function say(text) { if (state) { state.textContent = text; } }
  source.addEventListener("open", function () { say("Live: new events appear at the top."); });
  source.addEventListener("error", function () { say("Live updates paused; reconnecting…"); });
  source.addEventListener("evt", function (m) {
    var e;
    try { e = JSON.parse(m.data); } catch (_) { return; }
    var row = body.insertRow(0);
    [String(e.sequence), e.type, e.programCode, e.subject || "", e.occurredAt].forEach(function (v) {
      row.insertCell(-1).textContent = v;
    });
    while (body.rows.length > 50) { body.deleteRow(-1); }
  });
})();
