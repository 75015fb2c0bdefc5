// The new-experiment page's editor (served in a nonce'd block under the console's CSP).
// Without this script the page is a plain form; with it, Check and Create are sent with fetch and
// the results are swapped in, so the editor's text and the chosen files stay after an error.
// (This file is included by a Django template: it must never hold a brace followed by % or #.)
(function () {
  "use strict";
  var form = document.getElementById("design-form");
  var editor = document.getElementById("editor");
  var gutter = document.getElementById("gutter");
  var box = document.getElementById("editor-box");
  var results = document.getElementById("results");
  var statusLine = document.getElementById("status");
  var designName = document.getElementById("design-name");
  var nameShown = document.getElementById("design-name-shown");
  var edited = document.getElementById("edited");
  var opener = document.getElementById("design-file");
  var picker = document.getElementById("design-files");
  var fileList = document.getElementById("file-list");
  var forgotten = document.getElementById("files-forgotten");
  var kept = [];          // files to send with the design, gathered over several picks
  var problemLines = {};  // line number -> messages, for the gutter
  var shownLines = 0;

  // --- line numbers ------------------------------------------------------------
  function lineCount() { return editor.value.split("\n").length; }

  function drawGutter() {
    var count = lineCount();
    if (count !== shownLines) {
      var parts = [];
      for (var i = 1; i <= count; i++) parts.push("<span data-n=\"" + i + "\">" + i + "</span>");
      gutter.innerHTML = parts.join("");
      shownLines = count;
    }
    Array.prototype.forEach.call(gutter.children, function (span) {
      var messages = problemLines[span.getAttribute("data-n")];
      span.classList.toggle("bad", Boolean(messages));
      if (messages) span.title = messages.join("\n"); else span.removeAttribute("title");
    });
    gutter.scrollTop = editor.scrollTop;
  }

  function lineHeight() { return parseFloat(window.getComputedStyle(editor).lineHeight) || 20; }

  function markCurrent(n) {
    Array.prototype.forEach.call(gutter.children, function (span) {
      span.classList.toggle("current", span.getAttribute("data-n") === String(n));
    });
  }

  // Scroll the editor (not the page) so that line n shows a third of the way down.
  function revealLine(n) {
    editor.scrollTop = Math.max(0, (n - 1) * lineHeight() - editor.clientHeight / 3);
    editor.scrollLeft = 0;
    gutter.scrollTop = editor.scrollTop;
  }

  function goToLine(n) {
    var lines = editor.value.split("\n");
    n = Math.max(1, Math.min(n, lines.length));
    var start = 0;
    for (var i = 0; i < n - 1; i++) start += lines[i].length + 1;
    editor.focus({ preventScroll: true });
    editor.setSelectionRange(start, start + lines[n - 1].length);
    revealLine(n);
    box.scrollIntoView({ block: "nearest" });
    markCurrent(n);
  }

  // --- what is in the editor ------------------------------------------------------
  function setDesign(text, name) {
    editor.value = text;
    designName.value = name;
    nameShown.textContent = name;
    edited.value = "1";
    problemLines = {};
    editor.scrollTop = 0;
    drawGutter();
  }

  function readInto(file) {
    file.text().then(function (text) {
      setDesign(text, file.name);
      say("Opened " + file.name + ". Press Check to see what it makes.");
    });
  }

  // --- the files sent with the design ----------------------------------------------
  function size(n) { return n >= 1048576 ? (n / 1048576).toFixed(1) + " MB" : Math.max(1, Math.round(n / 1024)) + " kB"; }

  function drawFiles() {
    fileList.innerHTML = "";
    kept.forEach(function (file, index) {
      var item = document.createElement("li");
      var label = document.createElement("span");
      label.textContent = file.name + " (" + size(file.size) + ")";
      var remove = document.createElement("button");
      remove.type = "button";
      remove.className = "secondary";
      remove.textContent = "Remove";
      remove.setAttribute("aria-label", "Remove " + file.name);
      remove.addEventListener("click", function () { kept.splice(index, 1); drawFiles(); });
      item.appendChild(label);
      item.appendChild(remove);
      fileList.appendChild(item);
    });
  }

  opener.addEventListener("change", function () {
    if (opener.files.length) readInto(opener.files[0]);
    opener.value = "";  // the editor holds it now; the form sends the editor's text
  });

  picker.addEventListener("change", function () {
    var opened = false;
    Array.prototype.forEach.call(picker.files, function (file) {
      if (!opened && /\.toml$/i.test(file.name)) {
        opened = true;
        readInto(file);
        return;
      }
      kept = kept.filter(function (other) { return other.name !== file.name; });
      kept.push(file);
    });
    picker.value = "";
    if (forgotten) forgotten.hidden = true;
    drawFiles();
  });

  // --- Check and Create -------------------------------------------------------------
  function say(text, bad) {
    statusLine.textContent = text;
    statusLine.classList.toggle("bad", Boolean(bad));
  }

  function showResults(html) {
    results.innerHTML = html;
    applyResults();
    var heading = document.getElementById("results-heading");
    if (heading) heading.focus();
  }

  function applyResults() {
    var body = document.getElementById("results-body");
    var fromUpload = document.getElementById("design-from-upload");
    if (fromUpload) setDesign(fromUpload.value, body.getAttribute("data-design-name"));
    problemLines = {};
    Array.prototype.forEach.call(results.querySelectorAll("button.goto"), function (button) {
      var n = button.getAttribute("data-line");
      var text = button.parentNode.textContent.replace(/^\s*Line \d+/, "").trim();
      (problemLines[n] = problemLines[n] || []).push(text);
    });
    var lines = Object.keys(problemLines).map(Number).sort(function (a, b) { return a - b; });
    box.classList.toggle("invalid", lines.length > 0);
    if (lines.length) editor.setAttribute("aria-invalid", "true"); else editor.removeAttribute("aria-invalid");
    drawGutter();
    markCurrent(null);
    if (lines.length) revealLine(lines[0]);
  }

  var busy = false;
  function send(url, isCreate) {
    if (busy) return;
    var limit = parseInt(editor.getAttribute("data-max-bytes"), 10);
    if (new Blob([editor.value]).size > limit) {
      say("The design is larger than " + size(limit) + ": split its queries into a JSONL file and upload it.", true);
      return;
    }
    busy = true;
    var data = new FormData(form);
    data.delete("files");
    data.delete("design");
    kept.forEach(function (file) { data.append("files", file, file.name); });
    form.setAttribute("aria-busy", "true");
    say(isCreate ? "Creating the experiment…" : "Checking… the estimate of judgments needed takes a few seconds.");
    fetch(url, { method: "POST", body: data, credentials: "same-origin",
                 headers: { "X-Requested-With": "fetch" } })
      .then(function (response) {
        if (response.redirected) {  // signed out meanwhile: the login page
          window.location.assign(response.url);
          return null;
        }
        if (response.status === 201) {
          say("Created. Opening the experiment…");
          window.location.assign(response.headers.get("Location"));
          return null;
        }
        if (response.status !== 200 && response.status !== 422) {
          throw new Error("the server answered " + response.status + " " + response.statusText);
        }
        return response.text().then(function (html) {
          showResults(html);
          var problems = results.querySelectorAll(".problems li").length;
          say(problems ? problems + " problem" + (problems === 1 ? "" : "s") + " to fix." : "Valid: nothing saved yet.",
              problems > 0);
        });
      })
      .catch(function (error) { say("Could not " + (isCreate ? "create" : "check") + ": " + error.message, true); })
      .then(function () { busy = false; form.removeAttribute("aria-busy"); });
  }

  document.addEventListener("submit", function (event) {
    if (event.target !== form) return;
    event.preventDefault();
    var submitter = event.submitter;
    var url = (submitter && submitter.formAction) || form.action;
    send(url, Boolean(submitter) && submitter.formAction.indexOf("/create/") !== -1);
  });

  results.addEventListener("click", function (event) {
    var button = event.target.closest("button.goto");
    if (button) goToLine(parseInt(button.getAttribute("data-line"), 10));
  });

  editor.addEventListener("input", function () { edited.value = "1"; drawGutter(); });
  editor.addEventListener("scroll", function () { gutter.scrollTop = editor.scrollTop; });
  editor.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      document.getElementById("check-button").click();
    }
  });

  gutter.hidden = false;
  applyResults();
})();
