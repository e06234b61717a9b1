// The API console: sends the Parse REST call from the browser with the app's REST key and shows the answer.
(function () {
  "use strict";
  const form = document.getElementById("api-console");
  if (!form) return;
  const status = document.getElementById("console-status");
  const output = document.getElementById("console-response");

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    const method = form.elements.method.value;
    let path = form.elements.path.value.trim();
    if (!path.startsWith("/")) path = "/" + path;
    const headers = {
      "X-Parse-Application-Id": form.dataset.applicationId,
      "X-Parse-REST-API-Key": form.dataset.restKey,
    };
    const session = form.elements.session.value.trim();
    if (session) headers["X-Parse-Session-Token"] = session;
    const options = { method: method, headers: headers };
    const body = form.elements.body.value.trim();
    if (body && (method === "POST" || method === "PUT")) {
      try {
        JSON.parse(body);
      } catch (error) {
        status.textContent = "not sent";
        output.textContent = "The body is not valid JSON: " + error.message;
        return;
      }
      headers["Content-Type"] = "application/json";
      options.body = body;
    }
    status.textContent = "…";
    output.textContent = "";
    try {
      const response = await fetch(form.dataset.serverUrl + path, options);
      const text = await response.text();
      status.textContent = String(response.status);
      try {
        output.textContent = JSON.stringify(JSON.parse(text), null, 2);
      } catch (notJson) {
        output.textContent = text;
      }
    } catch (error) {
      status.textContent = "failed";
      output.textContent = "The request did not complete: " + error.message;
    }
  });
})();
