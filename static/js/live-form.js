// Live forms (wizard step 2, `form[data-live-form]`): htmx re-renders the whole form from the
// server on each choice. The form carries hx-sync="this:replace", so a choice made while a
// re-render is in flight cancels it and sends the newer values. Two gaps remain, closed here:
//  - a value changed while a request is in flight without sending one of its own (a typed name,
//    a trigger field, a search still waiting for its pause) would be overwritten by the swap
//    rendered from the older values: the user's value is put back into the new form;
//  - htmx starts listening to the swapped-in form only once it has settled (~20 ms later), so a
//    choice made in that window would re-render nothing: once settled, the form asks for a
//    re-render if its values differ from what the server rendered.
(function () {
  "use strict";
  const LIVE_FORM = "form[data-live-form]";
  const sent = new WeakMap(); // form -> its values when the request was sent
  const rendered = new WeakMap(); // swapped-in form -> its values as the server rendered them
  let changedInFlight = null; // name -> the user's values, between beforeSwap and afterSwap

  function valuesOf(form) {
    const found = new Map();
    for (const [name, value] of new FormData(form)) {
      if (typeof value !== "string") continue;
      if (!found.has(name)) found.set(name, []);
      found.get(name).push(value);
    }
    return found;
  }

  function changed(before, after) {
    const names = new Set([...before.keys(), ...after.keys()]);
    const out = new Map();
    for (const name of names) {
      const a = before.get(name) || [];
      const b = after.get(name) || [];
      if (a.length !== b.length || a.some((v, i) => v !== b[i])) out.set(name, b);
    }
    return out;
  }

  function putBack(form, name, wanted) {
    // Hidden inputs are the server's bookkeeping, never typed by the user.
    const controls = [...form.elements].filter((el) => el.name === name && el.type !== "hidden");
    const last = wanted.length ? wanted[wanted.length - 1] : "";
    for (const el of controls) {
      if (el.type === "checkbox") {
        el.checked = wanted.includes(el.value);
      } else if (el.type === "radio") {
        el.checked = el.value === last;
      } else if (el.tagName === "SELECT") {
        // A choice the new form no longer offers cannot be kept; the server's stands.
        if ([...el.options].some((o) => o.value === last)) el.value = last;
      } else if (controls.length === 1 && "value" in el && el.type !== "submit" && el.type !== "button") {
        el.value = last;
      }
    }
  }

  document.addEventListener("htmx:beforeRequest", (event) => {
    const form = event.detail.elt;
    if (form.matches && form.matches(LIVE_FORM)) sent.set(form, valuesOf(form));
  });

  document.addEventListener("htmx:beforeSwap", (event) => {
    const form = event.detail.elt;
    if (!(form.matches && form.matches(LIVE_FORM)) || !sent.has(form)) return;
    changedInFlight = changed(sent.get(form), valuesOf(form));
  });

  document.addEventListener("htmx:afterSwap", (event) => {
    const form = event.target;
    if (!(form.matches && form.matches(LIVE_FORM))) return;
    rendered.set(form, valuesOf(form));
    if (changedInFlight) {
      for (const [name, wanted] of changedInFlight) putBack(form, name, wanted);
    }
    changedInFlight = null;
  });

  document.addEventListener("htmx:afterSettle", (event) => {
    const form = event.target;
    if (!(form.matches && form.matches(LIVE_FORM)) || !rendered.has(form)) return;
    if (changed(rendered.get(form), valuesOf(form)).size) htmx.trigger(form, "live-refresh");
  });
})();
