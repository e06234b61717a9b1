// The push console's enhancements beyond htmx: typing in a target's own field (channels, the
// audience list, the builder's rows) chooses that target, so the live count follows it; a
// UTC send time is also shown in the browser's zone. Without this file the radio buttons are
// chosen by hand and times converted by the reader; everything else works the same.
(function () {
  "use strict";
  function choose(event) {
    const field = event.target.closest("[data-target]");
    if (!field || !field.form) return;
    const radio = field.form.querySelector('input[name="target"][value="' + field.dataset.target + '"]');
    if (radio && !radio.checked) {
      radio.checked = true;
      radio.dispatchEvent(new Event("change", { bubbles: true }));
    }
  }
  document.addEventListener("input", choose);
  document.addEventListener("change", choose);

  // A UTC time is also shown in the browser's own zone, so nobody has to convert by hand.
  function showLocal() {
    const input = document.getElementById("push-time");
    const out = document.getElementById("push-time-local");
    if (!input || !out) return;
    const at = input.form.querySelector('input[name="when"][value="at"]');
    const moment = input.value ? new Date(input.value + "Z") : null;
    out.textContent = at && at.checked && moment && !isNaN(moment) ? "That is " + moment.toLocaleString() + " your time." : "";
  }
  document.addEventListener("input", showLocal);
  document.addEventListener("change", showLocal);
})();
