// leadflow: small progressive enhancements. Every page works without this file.
(function () {
  "use strict";

  function toast(text, kind) {
    var box = document.getElementById("toasts");
    if (!box) return;
    var el = document.createElement("div");
    el.className = "toast toast-" + (kind || "info");
    el.setAttribute("role", kind === "error" ? "alert" : "status");
    var icon = document.createElement("span");
    icon.className = "toast-icon";
    icon.setAttribute("aria-hidden", "true");
    icon.textContent = kind === "error" ? "!" : "✓";
    var p = document.createElement("p");
    p.textContent = text;
    var close = document.createElement("button");
    close.type = "button";
    close.className = "toast-close";
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "×";
    el.append(icon, p, close);
    box.append(el);
  }

  // Filters that apply as soon as they change (a submit button remains for no-JS).
  document.addEventListener("change", function (event) {
    var el = event.target.closest("[data-autosubmit]");
    if (el && el.form) el.form.requestSubmit();
  });

  document.addEventListener("click", function (event) {
    var close = event.target.closest(".toast-close");
    if (close) {
      close.closest(".toast").remove();
      return;
    }
    // A click outside an open popover or menu closes it.
    document.querySelectorAll("details.pop[open], details.menu[open]").forEach(function (d) {
      if (!d.contains(event.target)) d.removeAttribute("open");
    });
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll("details.pop[open], details.menu[open]").forEach(function (d) {
      d.removeAttribute("open");
      var summary = d.querySelector("summary");
      if (summary && d.contains(document.activeElement)) summary.focus();
    });
  });

  // The work lists render each action form once, in a <template> of the page, for lead 0:
  // opening a row's action copies the form into the row, pointed at the row's lead (its
  // post address, field ids, hidden section, name and current values).
  document.addEventListener("toggle", function (event) {
    var d = event.target;
    if (!(d instanceof HTMLDetailsElement) || !d.open || !d.dataset.form) return;
    if (d.querySelector(".pop-panel")) return;
    var template = document.getElementById("form-" + d.dataset.form);
    var row = d.closest("tr[data-lead]");
    if (!template || !row) return;
    var lead = row.dataset.lead;
    var panel = template.content.firstElementChild.cloneNode(true);
    ["id", "for", "aria-describedby"].forEach(function (attr) {
      panel.querySelectorAll("[" + attr + "]").forEach(function (el) {
        el.setAttribute(attr, el.getAttribute(attr).replace(/^l0-/, "l" + lead + "-"));
      });
    });
    var form = panel.querySelector("form");
    ["action", "hx-post"].forEach(function (attr) {
      var url = form.getAttribute(attr);
      if (url) form.setAttribute(attr, url.replace("/0/do/", "/" + lead + "/do/"));
    });
    var section = row.closest("[data-section]");
    if (section && form.elements.section) form.elements.section.value = section.dataset.section;
    if (form.elements.next_step) form.elements.next_step.value = row.dataset.nextStep || "";
    var name = row.querySelector(".lead-name").textContent;
    panel.setAttribute("aria-label", panel.getAttribute("aria-label") + name);
    panel.querySelectorAll("[data-lead-name]").forEach(function (el) { el.textContent = name; });
    d.append(panel);
    if (window.htmx) window.htmx.process(panel);
  }, true);

  // "Show more" puts the cursor on the first row it added, where j and k go on from.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var more = event.detail.elt;
    if (!more.matches || !more.matches("[data-more]")) return;
    var rows = document.querySelector(more.getAttribute("hx-target"));
    more.dataset.seen = rows ? rows.querySelectorAll("tr[data-row]").length : 0;
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    var more = event.detail.requestConfig && event.detail.requestConfig.elt;
    if (!more || !more.matches || !more.matches("[data-more]")) return;
    var rows = document.querySelector(more.getAttribute("hx-target"));
    var first = rows && rows.querySelectorAll("tr[data-row]")[Number(more.dataset.seen)];
    var link = first && first.querySelector("a");
    if (link) link.focus();
  });

  // Opening a popover puts the cursor in its first field.
  document.addEventListener("toggle", function (event) {
    var d = event.target;
    if (!(d instanceof HTMLDetailsElement) || !d.open) return;
    if (!d.matches(".pop, .disclosure")) return;
    var field = d.querySelector("input:not([type=hidden]), select, textarea, button[type=submit]");
    if (field) field.focus();
  }, true);

  document.addEventListener("animationend", function (event) {
    if (event.animationName === "toast-out") event.target.remove();
  });

  // A swapped-in row with errors: focus the first invalid field.
  document.addEventListener("htmx:afterSettle", function (event) {
    var invalid = event.detail.elt && event.detail.elt.querySelector && event.detail.elt.querySelector("[aria-invalid=true]");
    if (invalid) invalid.focus();
  });

  // A session that expired answers an htmx post with the login page: go there, don't swap it in.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var url = event.detail.xhr.responseURL;
    if (url && new URL(url).pathname === document.body.dataset.loginUrl) {
      event.detail.shouldSwap = false;
      // Back to this page after logging in, not to the endpoint of the action.
      window.location.href = document.body.dataset.loginUrl + "?next=" +
        encodeURIComponent(window.location.pathname + window.location.search);
    }
  });

  // Keyboard shortcuts on the work lists: j / k move from row to row, a letter opens that
  // row's action (the letters are on the buttons' titles and in the page's shortcut list).
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    if (target.closest && target.closest("input, textarea, select, [contenteditable]")) return;
    var rows = Array.prototype.slice.call(document.querySelectorAll("tr[data-row]"));
    if (event.key === "?") {
      var help = document.getElementById("shortcuts");
      if (help) { help.open = !help.open; event.preventDefault(); }
      return;
    }
    if (!rows.length) return;
    var current = target.closest ? target.closest("tr[data-row]") : null;
    if (event.key === "j" || event.key === "k") {
      var index = current ? rows.indexOf(current) : -1;
      index = event.key === "j" ? Math.min(index + 1, rows.length - 1) : Math.max(index - 1, 0);
      var link = rows[index].querySelector("a");
      if (link) link.focus();
      event.preventDefault();
      return;
    }
    if (!current || current.querySelector("details.pop[open]")) return;
    var summary = current.querySelector('summary[data-key="' + event.key + '"]');
    if (summary) {
      event.preventDefault();
      summary.click();
    }
  });

  // A filter form leaves its empty fields out of the URL: short links, worth sharing.
  document.addEventListener("formdata", function (event) {
    if (!event.target.matches("form[data-clean-query]")) return;
    Array.from(event.formData.entries()).forEach(function (entry) {
      if (entry[1] === "") event.formData.delete(entry[0]);
    });
  });

  // Bulk actions: "all on this page" ticks every row; only the fields of the chosen action show.
  document.addEventListener("change", function (event) {
    var all = event.target.closest("[data-check-all]");
    if (all) {
      all.form.querySelectorAll("input[name=" + all.dataset.checkAll + "]").forEach(function (box) {
        box.checked = all.checked;
      });
    }
    if (event.target.id === "bulk-action") showBulkFields(event.target);
  });
  function showBulkFields(select) {
    select.form.querySelectorAll("[data-for-action]").forEach(function (el) {
      var shown = el.dataset.forAction === select.value;
      el.hidden = !shown;
      el.required = shown && el.dataset.forAction !== "assign";
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var select = document.getElementById("bulk-action");
    if (select) showBulkFields(select);
  });

  // A new attempt makes the errors of the last one stale.
  document.addEventListener("htmx:beforeRequest", function () {
    document.querySelectorAll("#toasts .toast-error").forEach(function (t) { t.remove(); });
  });

  // Answers htmx does not swap (403, 404, 5xx) and lost connections still say something.
  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr.status;
    var text = status === 403 ? "Your role may not do this." :
      status === 404 ? "This lead no longer exists." :
      "Something went wrong (HTTP " + status + "). Reload the page and try again.";
    toast(text, "error");
  });
  document.addEventListener("htmx:sendError", function () {
    toast("No connection to leadflow. Check your network and try again.", "error");
  });
})();
