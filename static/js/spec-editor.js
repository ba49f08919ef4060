// The spec editor of a Generic REST connection (templates/connections/form.html): each problem
// beside it names a line; choosing that line (click, or Enter / Space on the focused button)
// selects it in the textarea and scrolls it into view, so the spec is corrected from the keyboard.
(function () {
  "use strict";

  function goToLine(area, line) {
    const lines = area.value.split("\n");
    const index = Math.min(Math.max(line, 1), lines.length) - 1;
    let start = 0;
    for (let i = 0; i < index; i += 1) start += lines[i].length + 1;
    area.focus();
    area.setSelectionRange(start, start + lines[index].length);
    const height = parseFloat(getComputedStyle(area).lineHeight) || 18;
    area.scrollTop = Math.max(0, (index - 3) * height);
  }

  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-goto-line]");
    if (!button) return;
    const area = document.getElementById(button.getAttribute("aria-controls"));
    if (area) goToLine(area, parseInt(button.dataset.gotoLine, 10));
  });
})();
