/* "Leave this site": without JavaScript it is a plain link. Here it replaces the current page
   (location.replace), so the Back button does not bring this page back, and Escape does the same.
   Bound only where the page has the control, so staff pages can opt out by leaving it out. */
(function () {
  "use strict";
  var link = document.getElementById("leave-site");
  if (!link) {
    return;
  }

  function leave(event) {
    if (event) {
      event.preventDefault();
    }
    // Hide the page at once: on a slow connection the next site may take a while to appear.
    document.documentElement.className += " leaving";
    window.location.replace(link.href);
  }

  link.addEventListener("click", leave);
  document.addEventListener("keydown", function (event) {
    if ((event.key === "Escape" || event.key === "Esc") && !event.defaultPrevented && !event.isComposing) {
      leave(event);
    }
  });

  link.setAttribute("aria-keyshortcuts", "Escape");
  var key = document.createElement("span");
  key.className = "leave-key";
  key.setAttribute("aria-hidden", "true");
  key.appendChild(document.createTextNode(link.getAttribute("data-key-hint") || "Esc"));
  link.appendChild(document.createTextNode(" "));
  link.appendChild(key);
}());
