// The push console's one enhancement beyond htmx: typing in a target's own field (channels,
// the audience list, the builder's rows) chooses that target, so the live count follows it.
// Without this file the radio buttons are chosen by hand; everything else works the same.
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
})();
