// The main menu folds behind a "Menu" button on narrow windows (static/css/sluice.css, under
// `.nav-folds`). Without this script the button stays hidden and the menu simply wraps.
(function () {
  "use strict";
  const button = document.querySelector("[data-nav-toggle]");
  if (!button) {
    return;
  }
  document.documentElement.classList.add("nav-folds");
  button.hidden = false;
  button.addEventListener("click", function () {
    const open = button.getAttribute("aria-expanded") !== "true";
    button.setAttribute("aria-expanded", String(open));
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && button.getAttribute("aria-expanded") === "true") {
      button.setAttribute("aria-expanded", "false");
      button.focus();
    }
  });
})();
