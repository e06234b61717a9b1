// A running build's log, live: the lines after the page's last one arrive over a WebSocket
// (hangar.builds.log_stream) and are appended; the socket ends with the build. Without
// JavaScript, or if the socket cannot open, the page shows the lines kept when it loaded.
(function () {
  "use strict";
  const log = document.getElementById("build-log");
  if (!log || !log.dataset.stream || !("WebSocket" in window)) return;
  const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  const url = `${scheme}//${window.location.host}${log.dataset.stream}?after=${log.dataset.after || 0}`;
  const socket = new WebSocket(url);
  socket.addEventListener("message", function (event) {
    const frame = JSON.parse(event.data);
    if (frame.state) {
      log.dataset.ended = frame.state;
      return;
    }
    const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
    log.append(document.createTextNode(`[${frame.step}] ${frame.text}\n`));
    if (atBottom) log.scrollTop = log.scrollHeight;
  });
})();
