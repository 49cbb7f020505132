/* "Exit this page" (GOV.UK's pattern): without JavaScript it is a plain link. Here it replaces the
   current page (location.replace), so the Back button does not bring this page back, and pressing
   Shift three times within five seconds does the same. One key (Escape) is not enough: a stray press
   must not throw away twenty answers. Any other key in between starts the count again (Shift held for
   a capital letter is not an exit). Bound only where the page has the control (not on staff pages). */
(function () {
  "use strict";
  var link = document.getElementById("leave-site");
  if (!link) {
    return;
  }
  var count = 0;
  var timer;
  var hintText = link.getAttribute("data-shift-hint");
  var hint = document.createElement("span");
  hint.className = "exit-hint";
  hint.setAttribute("aria-hidden", "true");
  hint.textContent = hintText;
  link.appendChild(hint);
  link.setAttribute("aria-keyshortcuts", "Shift");
  // Says how many presses so far (on the button, and to screen readers), so a press by mistake is
  // noticed and nothing is lost.
  var status = document.createElement("span");
  status.className = "visually-hidden";
  status.setAttribute("role", "status");
  link.parentNode.appendChild(status);

  function say(text) {
    status.textContent = text;
    hint.textContent = text || hintText;
  }

  function leave(event) {
    if (event) {
      event.preventDefault();
    }
    // Hide the page at once: on a slow connection the next site may take a while to appear.
    document.documentElement.className += " leaving";
    window.location.replace(link.href);
  }

  function reset() {
    count = 0;
    say("");
    window.clearTimeout(timer);
  }

  link.addEventListener("click", leave);
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Shift") {
      reset();
    }
  });
  document.addEventListener("keyup", function (event) {
    if (event.key !== "Shift") {
      return;
    }
    count += 1;
    window.clearTimeout(timer);
    if (count > 2) {
      reset();
      leave();
      return;
    }
    say(link.getAttribute("data-presses").replace("{pressed}", count));
    timer = window.setTimeout(reset, 5000);
  });
}());
