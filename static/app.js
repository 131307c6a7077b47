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

  // The top bar's "Log in" comes back to the page it was clicked on (a public dataset, an
  // organization's profile); the pages about signing in themselves go to the dashboard.
  var here = window.location.pathname;
  if (!/^\/(login|signup|password|email|invitation)?(\/|$)/.test(here)) {
    document.querySelectorAll(".topbar a[href='/login']").forEach(function (a) {
      a.href = "/login?next=" + encodeURIComponent(here + window.location.search);
    });
  }

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

  // Names (usernames, dataset names): the rules checked as you type, in the hint below the
  // field (the server checks them again). Delegated, so the popup's form has it too.
  function nameProblem(v) {
    if (v.length === 0) return "";
    if (v.length < 2 || v.length > 39) return "Use 2 to 39 characters (now " + v.length + ").";
    if (!/^[A-Za-z0-9_-]+$/.test(v)) return "Use only letters a-z, digits, '-' and '_'.";
    if (!/^[A-Za-z0-9]/.test(v)) return "Start with a letter or a digit.";
    return null;
  }
  document.addEventListener("input", function (e) {
    var form = e.target.form;
    if (!form || form.getAttribute("data-name-rules") !== e.target.id) return;
    var hint = document.getElementById(e.target.id + "-hint");
    if (!hint) return;
    if (!hint.hasAttribute("data-rules")) {
      hint.setAttribute("data-rules", hint.textContent);
      hint.setAttribute("aria-live", "polite");
    }
    var problem = nameProblem(e.target.value.trim());
    hint.classList.toggle("hint-bad", !!problem);
    hint.classList.toggle("hint-good", problem === null);
    hint.textContent = problem === null ? "✓ " + e.target.value.trim() + " follows the rules." : (problem || hint.getAttribute("data-rules"));
  });

  // Destructive buttons that ask to type a name: enabled once the name matches (the
  // server checks it again).
  function syncConfirm(button) {
    var input = document.getElementById(button.getAttribute("data-confirm-input"));
    if (input) button.disabled = input.value.trim() !== button.getAttribute("data-confirm-name");
  }
  document.querySelectorAll("[data-confirm-name]").forEach(function (button) {
    syncConfirm(button);
    var input = document.getElementById(button.getAttribute("data-confirm-input"));
    if (input) input.addEventListener("input", function () { syncConfirm(button); });
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
          if (answer.confirm) {
            // Demoting yourself: the ordinary form, whose answer asks first.
            tr.classList.remove("is-dirty");
            form.submit();
            return;
          }
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

  // The popup's form is sent from the popup: its errors come back as the form alone and
  // stay there (focus on the first invalid field); success goes to the new dataset.
  dialog.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form.hasAttribute("data-dataset-form") || e.defaultPrevented) return;
    e.preventDefault();
    var data = new URLSearchParams(new FormData(form));
    data.set("fragment", "1");
    fetch(form.action, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: data.toString()
    })
      .then(function (res) {
        if (res.status === 204 && res.headers.get("X-Location")) {
          window.location.href = res.headers.get("X-Location");
          return;
        }
        if (res.status !== 422) throw new Error("status " + res.status);
        return res.text().then(function (html) {
          body.innerHTML = html;
          var first = body.querySelector("[autofocus]") || body.querySelector("[data-error-summary]");
          if (first) first.focus();
        });
      })
      .catch(function () {
        form.submit();
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
