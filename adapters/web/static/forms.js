// Progressive enhancement of the action forms (issue 13 item 1): an amount whose maximum
// depends on the line says the maximum of the line chosen. Without this script the hint lists
// every line's maximum, and the server checks the amount either way.
document.querySelectorAll("[data-per-line]").forEach(function (hint) {
  var form = hint.closest("form");
  var line = form && form.querySelector("[name='" + hint.dataset.lineField + "']");
  if (!line) return;
  var perLine = JSON.parse(hint.dataset.perLine);
  var all = hint.textContent;
  function update() {
    var top = perLine[line.value];
    hint.textContent = top === undefined ? all
      : "At most " + top + " " + hint.dataset.currency + " " + hint.dataset.text + " on line " + line.value;
  }
  line.addEventListener("change", update);
  update();
});

// A form sent back with an error: the agent lands on the first field marked invalid (its
// message is tied to it by aria-describedby), not at the top of the page.
(function () {
  var invalid = document.querySelector("main form [aria-invalid='true']");
  if (!invalid) return;
  var target = invalid.matches("fieldset")
    ? invalid.querySelector("input:not([disabled]), select:not([disabled]), textarea:not([disabled])")
    : invalid;
  if (target) target.focus();
})();

// The line editor's product finder (issue 13 item 6): a SKU box offers, from 3 characters,
// the products whose SKU or name holds them, with their price and stock in the order's store.
// Without this script the agent types the SKU (or, on /orders/new, presses "Find products").
document.querySelectorAll("input[data-sku-finder]").forEach(function (input, n) {
  var holder = input.closest("[data-products]");
  if (!holder || !window.fetch) return;
  var list = document.createElement("datalist");
  list.id = "sku-finder-" + n;
  input.after(list);
  input.setAttribute("list", list.id);
  var timer = null;
  var asked = "";
  input.addEventListener("input", function () {
    clearTimeout(timer);
    var text = input.value.trim();
    if (text.length < 3 || text === asked) return;
    timer = setTimeout(function () {
      asked = text;
      fetch(holder.dataset.products + "&q=" + encodeURIComponent(text), {
        headers: { Accept: "application/json" }, credentials: "same-origin",
      })
        .then(function (r) { return r.ok ? r.json() : { products: [] }; })
        .then(function (data) {
          list.replaceChildren.apply(list, data.products.map(function (p) {
            var option = document.createElement("option");
            option.value = p.sku;
            option.label = p.name + " · " + (p.price === null ? "no price" : p.price + " " + p.currency)
              + " · " + (p.available ? p.available + " available" : "out of stock");
            return option;
          }));
        })
        .catch(function () { /* the agent can still type the SKU */ });
    }, 200);
  });
});
