/* The questionnaire, enhanced: how many questions are answered (kept in view at the bottom), the
   PC-PTSD-5's five questions hidden while the first question is answered No — the published screen
   stops there — and the one-time value that makes sending the same form twice store one result. Without JavaScript the page says they may be left blank; the server ignores them. */
(function () {
  "use strict";
  var form = document.querySelector(".screening-form");
  if (!form) {
    return;
  }
  var items = form.querySelector(".items");
  var counter = form.querySelector(".progress-count");
  var hint = form.querySelector("[data-gate-hint]");
  var questions = items.querySelectorAll("fieldset");

  function update() {
    var gate = form.querySelector("[name=exposure]:checked");
    var skipped = !!gate && gate.value === "no";
    var done = items.querySelectorAll("input:checked").length;
    items.hidden = skipped;
    if (hint) {
      hint.hidden = true; // the questions come and go with the answer: nothing to explain
    }
    counter.hidden = false;
    counter.textContent = counter.getAttribute("data-template")
      .replace("{answered}", done).replace("{total}", questions.length);
  }

  form.addEventListener("change", update);
  update();

  // One result per submission: a random value made when the page first opens. The browser restores it
  // with the answers when Back brings the page again, so sending it again names the same result and
  // stores nothing new; a page opened afresh gets a new one.
  var once = form.querySelector("[data-one-time]");
  function fillOnce() {
    if (!once || once.value || !window.crypto || !window.crypto.getRandomValues) {
      return;
    }
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    once.value = Array.prototype.map.call(bytes, function (b) {
      return (b + 256).toString(16).slice(1);
    }).join("");
  }
  // Restored values are in place by the time the page has loaded, so only an empty box is filled.
  window.addEventListener("load", fillOnce);
  form.addEventListener("submit", fillOnce);
}());
