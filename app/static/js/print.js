/* "Print / Save as PDF": the button is hidden in the HTML because it needs JavaScript; the page
   says how to use the browser's own Print command either way. */
(function () {
  "use strict";
  var buttons = document.querySelectorAll("[data-print]");
  for (var i = 0; i < buttons.length; i += 1) {
    buttons[i].hidden = false;
    buttons[i].addEventListener("click", function () {
      window.print();
    });
  }
}());
