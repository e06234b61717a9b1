// The cloud-code page: drag and drop of a zip or a folder, running a function in place and
// the live log tail, through the management API with the page's session. The page's plain
// forms keep working without this file.
(function () {
  "use strict";
  const root = document.getElementById("cloud-code");
  if (!root) return;
  const api = root.dataset.api;
  const headers = { "X-CSRFToken": root.dataset.csrf };

  function call(method, path, body) {
    const options = { method: method, headers: Object.assign({}, headers), credentials: "same-origin" };
    if (body instanceof FormData) options.body = body;
    else if (body !== undefined) { options.headers["Content-Type"] = "application/json"; options.body = JSON.stringify(body); }
    return fetch(api + path, options).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) { return { ok: r.ok, status: r.status, data: data }; });
    });
  }

  // Upload
  const status = document.getElementById("cloud-upload-status");
  function report(answer) {
    if (answer.ok) { status.textContent = "Deployed version " + answer.data.number + "."; window.location.reload(); return; }
    status.textContent = "Upload refused: " + (answer.data.detail || ("HTTP " + answer.status));
  }
  function uploadZip(file) {
    const form = new FormData();
    form.append("bundle", file);
    status.textContent = "Validating " + file.name + "…";
    return call("POST", "/versions", form).then(report);
  }
  function readEntry(entry, prefix, files) {
    if (entry.isFile) {
      return new Promise(function (resolve, reject) { entry.file(resolve, reject); })
        .then(function (file) { return file.text(); })
        .then(function (text) { files[prefix + entry.name] = text; });
    }
    const reader = entry.createReader();
    const all = [];
    return new Promise(function (resolve, reject) {
      (function more() {
        reader.readEntries(function (batch) {
          if (!batch.length) { resolve(all); return; }
          all.push.apply(all, batch); more();
        }, reject);
      })();
    }).then(function (children) {
      return Promise.all(children.filter(function (c) { return c.name !== "__pycache__" && c.name[0] !== "."; })
        .map(function (child) { return readEntry(child, prefix + entry.name + "/", files); }));
    });
  }
  function uploadFolder(entry) {
    const files = {};
    status.textContent = "Reading " + entry.name + "…";
    // The folder's own name is not part of the bundle's paths: main.py sits at its root.
    return readEntry(entry, "", files).then(function () {
      const inside = {};
      Object.keys(files).forEach(function (path) { inside[path.slice(entry.name.length + 1)] = files[path]; });
      status.textContent = "Validating " + entry.name + "…";
      return call("POST", "/versions", { files: inside }).then(report);
    });
  }
  const drop = document.getElementById("cloud-drop");
  if (drop) {
    ["dragenter", "dragover"].forEach(function (type) {
      drop.addEventListener(type, function (event) { event.preventDefault(); drop.classList.add("is-over"); });
    });
    ["dragleave", "drop"].forEach(function (type) {
      drop.addEventListener(type, function () { drop.classList.remove("is-over"); });
    });
    drop.addEventListener("drop", function (event) {
      event.preventDefault();
      const item = event.dataTransfer.items && event.dataTransfer.items[0];
      const entry = item && item.webkitGetAsEntry && item.webkitGetAsEntry();
      if (entry && entry.isDirectory) { uploadFolder(entry); return; }
      const file = event.dataTransfer.files[0];
      if (file) uploadZip(file);
    });
  }
  const uploadForm = document.getElementById("cloud-upload-form");
  if (uploadForm) {
    uploadForm.addEventListener("submit", function (event) {
      const file = uploadForm.querySelector("input[type=file]").files[0];
      if (!file) return;
      event.preventDefault();
      uploadZip(file);
    });
  }

  // Run a function
  const runForm = document.getElementById("cloud-run-form");
  const result = document.getElementById("cloud-run-result");
  if (runForm) {
    runForm.addEventListener("submit", function (event) {
      event.preventDefault();
      let params;
      try { params = JSON.parse(runForm.params.value || "{}"); } catch (error) { params = null; }
      if (!params || typeof params !== "object" || Array.isArray(params)) {
        result.className = "run-result is-error"; result.textContent = "Params must be a JSON object."; return;
      }
      result.className = "run-result"; result.textContent = "Running…";
      call("POST", "/run", { name: runForm.name.value, params: params }).then(function (answer) {
        const failed = !answer.ok || "error" in answer.data;
        result.className = "run-result" + (failed ? " is-error" : "");
        result.textContent = answer.ok ? JSON.stringify(answer.data, null, 2) : (answer.data.detail || "HTTP " + answer.status);
        tail();
      });
    });
  }

  // Live log tail: poll for records newer than the cursor.
  const list = document.getElementById("cloud-logs");
  let cursor = parseFloat(list.dataset.cursor) || 0;
  function render(record) {
    const item = document.createElement("li");
    item.className = "log-" + record.outcome;
    const head = document.createElement("span");
    head.textContent = record.kind + " " + record.name + " · v" + record.version + " · " + record.outcome + " · " +
      record.ms + " ms" + (record.error ? " · " + record.code + " " + record.error : "");
    item.appendChild(head);
    (record.lines || []).forEach(function (line) {
      const div = document.createElement("div");
      div.className = "log-line";
      div.textContent = line.level + ": " + line.message;
      item.appendChild(div);
    });
    return item;
  }
  let busy = false;
  function tail() {
    if (busy) return;
    busy = true;
    call("GET", "/logs?limit=100" + (cursor ? "&since=" + cursor : "")).then(function (answer) {
      if (!answer.ok) return;
      document.getElementById("cloud-logs-live").hidden = false;
      answer.data.results.slice().reverse().forEach(function (record) { list.insertBefore(render(record), list.firstChild); });
      if (answer.data.cursor) cursor = answer.data.cursor;
    }).finally(function () { busy = false; });
  }
  setInterval(function () { if (!document.hidden) tail(); }, 2000);
})();
