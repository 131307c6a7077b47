// Colabel: small enhancements only; every page works without this file.
(function () {
  "use strict";

  // Menus are <details>: close them on outside click and on Escape.
  document.addEventListener("click", function (e) {
    document.querySelectorAll("details[data-menu][open]").forEach(function (menu) {
      if (!menu.contains(e.target)) menu.removeAttribute("open");
    });
  });
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Escape") return;
    document.querySelectorAll("details[data-menu][open]").forEach(function (menu) {
      menu.removeAttribute("open");
      var summary = menu.querySelector("summary");
      if (summary) summary.focus();
    });
  });

  // Forms that ask for a confirmation before they are sent.
  document.addEventListener("submit", function (e) {
    var message = e.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) e.preventDefault();
  });

  // "Copy" buttons next to a value shown once (a new API key): hidden without JavaScript,
  // where the value is selected by hand.
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source || !navigator.clipboard) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(source.textContent).then(function () {
        button.textContent = "Copied";
      });
    });
  });

  // Member rows (the Members subtab): a row whose roles changed is marked until saved, and
  // leaving the page with one asks first; Save sends the row in place and the row says what
  // changed. Without JavaScript (or when the fetch fails) Save posts the form and the page
  // comes back at the same place with the same message.
  var memberRows = document.querySelector("[data-member-rows]");
  if (memberRows) {
    var UNSAVED = "Unsaved changes";
    var rowStatus = function (tr, text, kind) {
      var status = tr.querySelector("[data-row-status]");
      if (!status) return;
      status.textContent = text;
      status.className = "row-status" + (kind ? " is-" + kind : "");
    };
    var selectsOf = function (tr) {
      return Array.prototype.slice.call(tr.querySelectorAll("select[data-saved]"));
    };
    var markRow = function (tr) {
      var dirty = selectsOf(tr).some(function (s) { return s.value !== s.getAttribute("data-saved"); });
      tr.classList.toggle("is-dirty", dirty);
      var status = tr.querySelector("[data-row-status]");
      if (dirty) rowStatus(tr, UNSAVED, "unsaved");
      else if (status && status.textContent === UNSAVED) rowStatus(tr, "", "");
    };
    memberRows.addEventListener("change", function (e) {
      if (e.target.matches("select[data-saved]")) markRow(e.target.closest("tr"));
    });
    window.addEventListener("beforeunload", function (e) {
      if (!memberRows.querySelector("tr.is-dirty")) return;
      e.preventDefault();
      e.returnValue = "";
    });
    document.addEventListener("submit", function (e) {
      var form = e.target;
      if (e.defaultPrevented || !form.matches("[data-row-save]") || !window.fetch) return;
      var tr = form.closest("tr");
      e.preventDefault();
      rowStatus(tr, "Saving…", "");
      fetch(form.action, {
        method: "POST",
        body: new URLSearchParams(new FormData(form)),
        headers: { "Accept": "application/json" },
        credentials: "same-origin"
      })
        .then(function (res) {
          if (!res.ok) throw new Error("status " + res.status);
          return res.json();
        })
        .then(function (answer) {
          if (answer.ok) {
            selectsOf(tr).forEach(function (s) {
              var value = s.name === "role" ? answer.role : answer.default_role;
              s.value = value;
              s.setAttribute("data-saved", value);
            });
            tr.classList.remove("is-dirty");
            rowStatus(tr, answer.message, "saved");
          } else {
            rowStatus(tr, answer.message, "error");
          }
        })
        .catch(function () {
          // Send it the ordinary way; the page that comes back says what happened.
          // Other unsaved rows still warn before the page goes.
          tr.classList.remove("is-dirty");
          form.submit();
        });
    });
  }

  // The new-dataset popup: the same form as /datasets/new, in a <dialog>. Without
  // JavaScript (or if anything fails) the link simply opens the page.
  var dialog = document.getElementById("dataset-dialog");
  if (!dialog || typeof dialog.showModal !== "function") return;
  var body = dialog.querySelector("[data-dialog-body]");
  var opener = null;

  document.addEventListener("click", function (e) {
    var link = e.target.closest("[data-open-dataset-dialog]");
    if (!link || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey) return;
    e.preventDefault();
    var owner = link.getAttribute("data-owner") || "";
    fetch("/datasets/new?fragment=1&owner=" + encodeURIComponent(owner), { credentials: "same-origin" })
      .then(function (res) {
        if (!res.ok) throw new Error("status " + res.status);
        return res.text();
      })
      .then(function (html) {
        body.innerHTML = html;
        var menu = link.closest("details[data-menu]");
        if (menu) menu.removeAttribute("open");
        opener = menu ? menu.querySelector("summary") : link;
        dialog.showModal();
        var first = body.querySelector("#f-name");
        if (first) first.focus();
      })
      .catch(function () {
        window.location.href = link.href;
      });
  });

  function restoreFocus() {
    body.innerHTML = "";
    if (opener) opener.focus();
    opener = null;
  }
  dialog.addEventListener("click", function (e) {
    if (e.target.closest("[data-close-dialog]") || e.target === dialog) {
      dialog.close();
      // The close event comes a moment later; move the focus back now.
      restoreFocus();
    }
  });
  // Escape closes a modal dialog natively; focus goes back where it came from.
  dialog.addEventListener("close", function () {
    if (opener) restoreFocus();
  });
})();
