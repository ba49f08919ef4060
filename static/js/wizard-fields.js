// Wizard step 3: the search box above the source fields hides the ones whose name does not
// contain what is typed. Without JavaScript every field is simply listed.
document.addEventListener("input", (event) => {
  const box = event.target;
  if (!box.matches || !box.matches("[data-filter-list]")) return;
  const list = document.getElementById(box.dataset.filterList);
  if (!list) return;
  const wanted = box.value.trim().toLowerCase();
  for (const item of list.children) {
    item.hidden = wanted !== "" && !item.dataset.name.includes(wanted);
  }
});
