/* The questionnaire, enhanced: how many questions are answered (kept in view at the bottom), and the
   PC-PTSD-5's five questions hidden while the first question is answered No — the published screen
   stops there. Without JavaScript the page says the five may be left blank, and the server ignores
   them after a No. */
(function () {
  "use strict";
  var form = document.querySelector("form.screening-form");
  if (!form) {
    return;
  }
  var items = form.querySelector(".items");
  var counter = form.querySelector("[data-progress]");
  var questions = items ? items.querySelectorAll("fieldset.question") : [];
  var gate = form.querySelectorAll("input[name='exposure']");
  var gateHint = form.querySelector("[data-gate-hint]");

  function answered() {
    var done = 0;
    for (var i = 0; i < questions.length; i += 1) {
      if (questions[i].querySelector("input:checked")) {
        done += 1;
      }
    }
    return done;
  }

  function update() {
    var exposure = form.querySelector("input[name='exposure']:checked");
    var skipped = gate.length > 0 && exposure !== null && exposure.value === "no";
    if (items && gate.length) {
      items.hidden = skipped;
      if (gateHint) {
        gateHint.hidden = true; // the questions appear or go as the answer changes: no need to explain
      }
    }
    if (counter) {
      counter.hidden = skipped;
      counter.textContent = (counter.getAttribute("data-template") || "{answered} of {total} answered")
        .replace("{answered}", String(answered())).replace("{total}", String(questions.length));
    }
  }

  form.addEventListener("change", update);
  update();
}());
