/**
 * leadflow first-party tracking snippet, served by leadflow at /t.js. No dependencies.
 *
 * Install (in every page of the website, anywhere in the HTML):
 *
 *   <script src="https://leadflow.example/t.js" data-key="WRITE_KEY" async></script>
 *
 * Attributes of the script tag:
 *   data-key      the source's write key (required; leadflow → Settings → Write keys)
 *   data-host     where events go (default: the origin this script was loaded from)
 *   data-consent  "required": send and store nothing until leadflow.consent(true)
 *
 * What it does:
 *   - Keeps an anonymous id in a first-party cookie `lf_aid` (1 year, SameSite=Lax, on the
 *     site's registrable domain so www. and app. share it) with a localStorage copy.
 *   - Sends a page view on load and on every SPA navigation (pushState, replaceState, popstate)
 *     with context.page, context.campaign (utm_* parameters), userAgent, locale and library.
 *   - Captures forms marked <form data-leadflow-form="Form Name">: on submit it sends an
 *     identify with the traits of inputs named email, first_name/firstName, last_name/lastName,
 *     name, company, title/job_title/jobTitle, phone and country (or any input marked
 *     data-leadflow-trait="traitName"), then a track "Form Submitted" (or the form's
 *     data-leadflow-event="Whitepaper Downloaded"). The form submits as it would without it.
 *   - Messages go as text/plain bodies with the write key inside (navigator.sendBeacon, else
 *     fetch keepalive) to HOST/v1/p, /v1/i and /v1/t: no CORS preflight, and they survive the
 *     page being left.
 *
 * Privacy: with Do Not Track or Global Privacy Control on, it sends nothing and writes no cookie.
 * With data-consent="required" (or window.leadflow = {consent: false} before it loads), it writes
 * no cookie and holds events in memory until leadflow.consent(true); leadflow.consent(false)
 * drops them and forgets the anonymous id. Call consent(true) on every page (as consent
 * managers do): the choice is the site's to remember.
 *
 * API (window.leadflow):
 *   leadflow.page()                       a page view of the current URL
 *   leadflow.track("Demo Requested", {plan: "Team"})
 *   leadflow.identify({email: "ada@example.com", company: "Acme"})
 *   leadflow.consent(true | false)
 *   leadflow.anonymousId()
 * Calls made before the script has loaded are replayed if the page queued them as
 * window.leadflow = {q: [["track", ["Signed Up"]], ...]}.
 */
(function (window, document) {
  "use strict";
  var VERSION = "1.0.0";
  var COOKIE = "lf_aid";
  var YEAR = 365 * 24 * 3600;
  var TRAITS = {
    email: "email", first_name: "firstName", firstName: "firstName", last_name: "lastName",
    lastName: "lastName", name: "name", company: "company", title: "title",
    job_title: "title", jobTitle: "title", phone: "phone", country: "country"
  };
  var CAMPAIGN = { utm_source: "source", utm_medium: "medium", utm_campaign: "name",
    utm_term: "term", utm_content: "content" };

  var existing = window.leadflow || {};
  if (existing.loaded) return;
  var script = document.currentScript || document.querySelector("script[data-key][src*='t.js']");
  if (!script) return;
  var key = script.getAttribute("data-key");
  var host = (script.getAttribute("data-host") || new URL(script.src, location.href).origin)
    .replace(/\/+$/, "");
  var nav = window.navigator;
  var doNotTrack = nav.doNotTrack === "1" || nav.doNotTrack === "yes" ||
    window.doNotTrack === "1" || nav.msDoNotTrack === "1" || nav.globalPrivacyControl === true;
  var consent = !(existing.consent === false || script.getAttribute("data-consent") === "required");
  var held = [];
  var anonymousId = null;
  var domain = null;
  var lastUrl = null;
  var lastReferrer = document.referrer;

  function uuid() {
    var b = new Uint8Array(16);
    window.crypto.getRandomValues(b);
    b[6] = (b[6] & 15) | 64;
    b[8] = (b[8] & 63) | 128;
    var h = "";
    for (var i = 0; i < 16; i++) h += (b[i] + 256).toString(16).slice(1);
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" +
      h.slice(16, 20) + "-" + h.slice(20);
  }

  function readCookie() {
    var m = document.cookie.match(new RegExp("(?:^|; )" + COOKIE + "=([^;]*)"));
    return m ? decodeURIComponent(m[1]) : null;
  }

  function writeCookie(value, maxAge, domain) {
    document.cookie = COOKIE + "=" + encodeURIComponent(value) + "; path=/; max-age=" + maxAge +
      "; SameSite=Lax" + (domain ? "; domain=" + domain : "") +
      (location.protocol === "https:" ? "; Secure" : "");
  }

  // The registrable domain is the shortest suffix of the host that accepts a cookie (the
  // browser refuses public suffixes such as co.uk), as Segment's analytics.js finds it.
  function siteDomain() {
    var host = location.hostname;
    if (!host || host.indexOf(".") < 0 || /^[\d.]+$/.test(host) || host.indexOf(":") >= 0) return "";
    var parts = host.split(".");
    for (var i = parts.length - 2; i >= 0; i--) {
      var candidate = parts.slice(i).join(".");
      document.cookie = "lf_probe=1; path=/; domain=" + candidate + "; SameSite=Lax";
      if (document.cookie.indexOf("lf_probe=1") >= 0) {
        document.cookie = "lf_probe=; path=/; max-age=0; domain=" + candidate;
        return candidate;
      }
    }
    return "";
  }

  function storage(name, value) {
    try {
      if (value === undefined) return window.localStorage.getItem(name);
      if (value === null) window.localStorage.removeItem(name);
      else window.localStorage.setItem(name, value);
    } catch (e) { /* storage blocked: the cookie alone carries the id */ }
    return null;
  }

  function getAnonymousId() {
    if (!anonymousId) {
      anonymousId = readCookie() || storage(COOKIE) || uuid();
      if (domain === null) domain = siteDomain();
      // Written on every page: the year counts from the last visit.
      writeCookie(anonymousId, YEAR, domain);
      storage(COOKIE, anonymousId);
    }
    return anonymousId;
  }

  function pageInfo(referrer) {
    return { url: location.href, path: location.pathname, search: location.search,
      referrer: referrer || "", title: document.title };
  }

  function campaign() {
    var out = null;
    var params = new URLSearchParams(location.search);
    for (var name in CAMPAIGN) {
      var value = params.get(name);
      if (value) (out = out || {})[CAMPAIGN[name]] = value;
    }
    return out;
  }

  function post(path, body) {
    var url = host + "/v1/" + path;
    try {
      if (nav.sendBeacon && nav.sendBeacon(url, new Blob([body], { type: "text/plain" }))) return;
    } catch (e) { /* fall back to fetch */ }
    if (window.fetch) {
      window.fetch(url, { method: "POST", body: body, keepalive: true, mode: "no-cors",
        credentials: "omit", headers: { "Content-Type": "text/plain" } }).catch(function () {});
    }
  }

  function deliver(item) {
    var message = item.message;
    message.anonymousId = getAnonymousId();
    message.writeKey = key;
    message.sentAt = new Date().toISOString();
    post(item.path, JSON.stringify(message));
  }

  function send(path, type, fields, referrer) {
    if (doNotTrack || !key) return;
    var page = pageInfo(referrer === undefined ? lastReferrer : referrer);
    var context = { page: page, userAgent: nav.userAgent, locale: nav.language,
      library: { name: "leadflow.js", version: VERSION } };
    var utm = campaign();
    if (utm) context.campaign = utm;
    var message = { type: type, messageId: uuid(), timestamp: new Date().toISOString(),
      context: context };
    for (var name in fields) message[name] = fields[name];
    if (type === "page") message.properties = Object.assign({}, page, message.properties);
    var item = { path: path, message: message };
    if (consent) deliver(item);
    else if (held.length < 100) held.push(item);
  }

  function page(name, properties) {
    lastUrl = location.href.split("#")[0];
    var fields = { properties: properties || {} };
    if (typeof name === "string" && name) fields.name = name;
    send("p", "page", fields);
  }

  function track(event, properties) {
    if (event) send("t", "track", { event: String(event), properties: properties || {} });
  }

  function identify(traits) {
    if (traits && typeof traits === "object") send("i", "identify", { traits: traits });
  }

  function setConsent(given) {
    consent = given !== false;
    if (consent) {
      while (held.length) deliver(held.shift());
    } else {
      held = [];
      anonymousId = null;
      if (domain === null) domain = siteDomain();
      if (readCookie()) writeCookie("", 0, domain);
      storage(COOKIE, null);
    }
  }

  // SPA navigation: one page view per new URL (a replaceState of the same URL is not a visit).
  function changed() {
    var url = location.href.split("#")[0];
    if (url === lastUrl) return;
    lastReferrer = lastUrl || lastReferrer;
    // After the router's own work in this task, so the new page's title is read.
    window.setTimeout(function () { page(); }, 0);
    lastUrl = url;
  }
  ["pushState", "replaceState"].forEach(function (method) {
    var original = window.history[method];
    window.history[method] = function () {
      var result = original.apply(this, arguments);
      changed();
      return result;
    };
  });
  window.addEventListener("popstate", changed);

  function formTraits(form) {
    var traits = {};
    var fields = form.elements;
    for (var i = 0; i < fields.length; i++) {
      var field = fields[i];
      var trait = field.getAttribute("data-leadflow-trait") || TRAITS[field.name];
      var type = (field.type || "").toLowerCase();
      if (!trait || type === "password" || type === "hidden" || type === "file") continue;
      if ((type === "checkbox" || type === "radio") && !field.checked) continue;
      var value = (field.value || "").trim();
      if (value) traits[trait] = value;
    }
    return traits;
  }

  // Capture phase: the form's own handlers may stop the event; they never stop this one.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form || !form.hasAttribute || !form.hasAttribute("data-leadflow-form")) return;
    try {
      var formName = form.getAttribute("data-leadflow-form") || form.id || "form";
      var traits = formTraits(form);
      if (traits.email) identify(traits);
      track(form.getAttribute("data-leadflow-event") || "Form Submitted",
        { form: formName, path: location.pathname });
    } catch (e) { /* tracking never breaks a form */ }
  }, true);

  var api = { loaded: true, version: VERSION, page: page, track: track, identify: identify,
    consent: setConsent,
    anonymousId: function () { return doNotTrack || !consent ? null : getAnonymousId(); } };
  window.leadflow = api;
  // Calls queued before the script loaded: consent first (it decides about the page view),
  // then the page view of this load, then the rest in their order.
  var queued = existing.q || [];
  function replay(consentCalls) {
    for (var i = 0; i < queued.length; i++) {
      var call = queued[i];
      if ((call[0] === "consent") === consentCalls && api[call[0]]) {
        api[call[0]].apply(api, call[1] || []);
      }
    }
  }
  replay(true);
  page();
  replay(false);
})(window, document);
