/* "Exit this page" (GOV.UK's pattern): without JavaScript it is a plain link. Here it replaces the
   current page (location.replace), so the Back button does not bring this page back, and pressing
   Shift three times in a row does the same. A single key (Escape) is not enough: a stray press must
   not throw away twenty answers. Bound only where the page has the control (staff pages leave it out). */
(function () {
  "use strict";
  var link = document.getElementById("leave-site");
  if (!link) {
    return;
  }
  var PRESSES = 3;
  var WINDOW_MS = 5000; // three presses within five seconds, as GOV.UK's
  var count = 0;
  var timer = null;

  function leave(event) {
    if (event) {
      event.preventDefault();
    }
    // Hide the page at once: on a slow connection the next site may take a while to appear.
    document.documentElement.className += " leaving";
    window.location.replace(link.href);
  }

  // Says how many more presses are needed, so a press by mistake is noticed and nothing is lost.
  var status = document.createElement("span");
  status.className = "exit-presses";
  status.setAttribute("role", "status");
  link.parentNode.appendChild(status);

  function reset() {
    count = 0;
    status.textContent = "";
    if (timer) {
      window.clearTimeout(timer);
      timer = null;
    }
  }

  link.addEventListener("click", leave);
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Shift") {
      reset(); // Shift held for a capital letter, or any other key: not an exit
    }
  });
  document.addEventListener("keyup", function (event) {
    if (event.key !== "Shift" || event.isComposing) {
      return;
    }
    count += 1;
    if (count >= PRESSES) {
      reset();
      leave(null);
      return;
    }
    status.textContent = (link.getAttribute("data-presses") || "Shift pressed {pressed} of 3 times to exit this page")
      .replace("{pressed}", String(count));
    if (timer) {
      window.clearTimeout(timer);
    }
    timer = window.setTimeout(reset, WINDOW_MS);
  });

  link.setAttribute("aria-keyshortcuts", "Shift");
  var hint = document.createElement("span");
  hint.className = "exit-hint";
  hint.setAttribute("aria-hidden", "true");
  hint.appendChild(document.createTextNode(link.getAttribute("data-shift-hint") || "or press Shift 3 times"));
  link.appendChild(hint);
}());
