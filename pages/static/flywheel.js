// Flywheel UI enhancements. Every page works without this file; it adds live updates and in-place editing.
/* global document, window, HTMLElement, EventSource, setTimeout */
(function () {
  "use strict";
  // Add/remove repeatable rows in place (the server does the same through the _op submit buttons without JS).
  document.addEventListener("click", function (e) {
    var t = e.target;
    if (!(t instanceof HTMLElement)) return;
    var add = t.closest("[data-add-row]");
    if (add) {
      var list = document.getElementById(add.getAttribute("data-add-row"));
      var tpl = document.getElementById(add.getAttribute("data-template"));
      if (list && tpl && tpl.content) {
        e.preventDefault();
        var n = list.querySelectorAll(".rowline").length + "" + (Date.now() % 100000);
        var html = tpl.innerHTML.split("__N__").join(String(n));
        list.insertAdjacentHTML("beforeend", html);
        updateTotals();
      }
      return;
    }
    var rm = t.closest("[data-remove-row]");
    if (rm) {
      var line = rm.closest(".rowline");
      if (line) { e.preventDefault(); line.remove(); updateTotals(); }
      return;
    }
    var confirmBtn = t.closest("[data-confirm]");
    if (confirmBtn) {
      if (!window.confirm(confirmBtn.getAttribute("data-confirm"))) { e.preventDefault(); return; }
      var form = confirmBtn.closest("form");
      if (form && !form.querySelector("input[name=confirm]")) {
        var c = document.createElement("input"); c.type = "hidden"; c.name = "confirm"; c.value = "yes"; form.appendChild(c);
      }
    }
  });

  // Running total of experiment weights as you type.
  function updateTotals() {
    document.querySelectorAll("[data-total-of]").forEach(function (out) {
      var sel = out.getAttribute("data-total-of");
      var sum = 0;
      document.querySelectorAll(sel).forEach(function (i) { var v = parseInt(i.value, 10); if (!isNaN(v)) sum += v; });
      out.textContent = String(sum);
      out.classList.toggle("bad", sum !== 100);
      out.classList.toggle("good", sum === 100);
    });
  }
  document.addEventListener("input", updateTotals);
  document.addEventListener("DOMContentLoaded", updateTotals);
  document.addEventListener("htmx:afterSwap", updateTotals);

  // Live log stream over Server-Sent Events; switching the rank reconnects.
  var source = null;
  function startLogs() {
    var pre = document.querySelector("[data-log-stream]");
    if (!pre) return;
    if (source) source.close();
    var rankSel = document.getElementById("rank");
    var url = pre.getAttribute("data-log-stream") + "?rank=" + encodeURIComponent(rankSel ? rankSel.value : "0");
    pre.textContent = "";
    pre.setAttribute("data-streaming", "true");
    source = new EventSource(url);
    source.addEventListener("log", function (ev) {
      var atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
      pre.appendChild(document.createTextNode(ev.data + "\n"));
      // A bounded tail: the full log is a download away, the page never holds all of it.
      while (pre.childNodes.length > 2000) pre.removeChild(pre.firstChild);
      if (atBottom) pre.scrollTop = pre.scrollHeight;
    });
    source.addEventListener("end", function (ev) {
      source.close();
      // The stream ends with the job's state; if the job is still going (a dropped follow), pick it up again.
      if (ev.data === "pending" || ev.data === "running") { setTimeout(startLogs, 2000); return; }
      pre.setAttribute("data-streaming", "done");
    });
    source.onerror = function () { if (source.readyState === EventSource.CLOSED) pre.setAttribute("data-streaming", "done"); };
  }
  document.addEventListener("change", function (e) {
    if (e.target instanceof HTMLElement && e.target.id === "rank") startLogs();
  });

  // Show only the fields of the chosen kind / source (the server renders the same choice without JavaScript).
  function showOnly(attr, value) {
    document.querySelectorAll("[" + attr + "]").forEach(function (f) {
      var on = f.getAttribute(attr) === value;
      f.hidden = !on;
      f.disabled = !on;
    });
  }
  document.addEventListener("change", function (e) {
    var t = e.target;
    if (!(t instanceof HTMLElement)) return;
    if (t.id === "kind" && t.closest("#training-form")) showOnly("data-when-kind", t.value);
    if (t.getAttribute("name") === "sourceKind" && t.checked) showOnly("data-when-source", t.value);
  });
  document.addEventListener("DOMContentLoaded", startLogs);

  // No htmx failure goes unseen: error answers are swapped into their target (layout.tsx's responseHandling); an
  // answer without a body, a network failure or a timeout is shown in the page's alert box instead.
  function showError(msg) {
    var box = document.getElementById("htmx-error");
    if (!box) return;
    box.textContent = msg;
    box.hidden = false;
  }
  document.addEventListener("htmx:beforeSwap", function (e) {
    var xhr = e.detail.xhr;
    // A session that expired: log in again rather than swapping the login page into a fragment.
    if (xhr.status === 401) { e.detail.shouldSwap = false; window.location.href = "/login?next=" + encodeURIComponent(window.location.pathname + window.location.search); }
  });
  document.addEventListener("htmx:responseError", function (e) {
    var xhr = e.detail.xhr;
    if (!xhr.responseText || !xhr.responseText.trim()) showError("The server answered " + xhr.status + " " + (xhr.statusText || "") + " with no details.");
    else if (!/^\s*</.test(xhr.responseText)) showError(xhr.responseText);
  });
  document.addEventListener("htmx:sendError", function () { showError("The server could not be reached; check your connection and try again."); });
  document.addEventListener("htmx:timeout", function () { showError("The server took too long to answer; try again."); });
  document.addEventListener("htmx:beforeRequest", function () { var box = document.getElementById("htmx-error"); if (box) box.hidden = true; });
})();
