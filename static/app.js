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
