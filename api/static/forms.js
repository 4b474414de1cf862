// Autosave for the contact forms: posts what was typed to …/draft a moment after typing stops
// and when the tab is hidden. The page works without it; the CSRF token travels as a header.
(function () {
  "use strict";
  var form = document.getElementById("answers");
  if (!form || !window.fetch || !window.URLSearchParams) { return; }
  var url = form.getAttribute("data-autosave");
  var status = document.getElementById("autosave-status");
  var token = form.querySelector("input[name=csrf_token]").value;
  var lang = document.documentElement.lang === "en" ? "en" : "de";
  var texts = {
    de: { saving: "Entwurf wird gespeichert …", saved: "Entwurf gespeichert um ", failed: "Entwurf konnte nicht automatisch gespeichert werden. Bitte „Entwurf speichern“ wählen." },
    en: { saving: "Saving draft …", saved: "Draft saved at ", failed: "The draft could not be saved automatically. Please choose “Save draft”." }
  }[lang];
  var timer = null;
  var dirty = false;

  function body() {
    var data = new URLSearchParams(new FormData(form));
    data.delete("action");
    return data;
  }

  function save() {
    timer = null;
    if (!dirty) { return; }
    dirty = false;
    status.textContent = texts.saving;
    fetch(url, {
      method: "POST",
      body: body(),
      credentials: "same-origin",
      headers: { "X-CSRF-Token": token },
      referrerPolicy: "no-referrer"
    }).then(function (response) {
      if (!response.ok) { throw new Error(String(response.status)); }
      return response.json();
    }).then(function (result) {
      status.textContent = texts.saved + result.at;
    }).catch(function () {
      dirty = true;
      status.textContent = texts.failed;
    });
  }

  function changed() {
    dirty = true;
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(save, 1500);
  }

  form.addEventListener("input", changed);
  form.addEventListener("change", changed);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden" && dirty) {
      dirty = false;
      // sendBeacon cannot set headers: the csrf_token field in the body does the same job.
      if (!(navigator.sendBeacon && navigator.sendBeacon(url, body()))) { save(); }
    }
  });
  form.addEventListener("submit", function () { if (timer) { clearTimeout(timer); } dirty = false; });

  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
})();
