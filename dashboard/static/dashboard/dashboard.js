// Small enhancements on top of plain forms: copy buttons, confirmations, auto-submitting selects.
// Everything works without this file; htmx adds in-place reveal and rotation of keys.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    // Plain-http hosts other than localhost have no clipboard API.
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    const ok = document.execCommand("copy");
    area.remove();
    return ok ? Promise.resolve() : Promise.reject(new Error("copy failed"));
  }

  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-copy]");
    if (!button) return;
    const source = document.querySelector(button.dataset.copy);
    if (!source) return;
    const text = "value" in source && source.tagName !== "PRE" ? source.value : source.textContent;
    const label = button.textContent;
    copyText(text).then(
      function () { button.textContent = "Copied"; button.classList.add("is-done"); },
      function () { button.textContent = "Press Ctrl+C"; if (source.select) source.select(); }
    ).finally(function () {
      setTimeout(function () { button.textContent = label; button.classList.remove("is-done"); }, 1600);
    });
  });

  document.addEventListener("submit", function (event) {
    const form = event.target.closest("form[data-confirm]");
    if (form && !window.confirm(form.dataset.confirm)) event.preventDefault();
  });

  document.addEventListener("change", function (event) {
    if (event.target.matches("select[data-autosubmit]")) event.target.form.requestSubmit();
  });
})();
