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
var finders = 0;
function wireFinder(input) {
  var holder = input.closest("[data-products]");
  if (!holder || !window.fetch) return;
  var list = document.createElement("datalist");
  list.id = "sku-finder-" + finders++;
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
}
document.querySelectorAll("input[data-sku-finder]").forEach(wireFinder);

// The line editor's live totals (issue 13 item 6), on a new order and an order's edit form:
// as the agent types a SKU, a quantity or a placed price, each row's tax, total and stock and
// the lines' totals come from /orders/new/quote, priced by the server as the order will be.
// Without this script the totals show after "Update totals" (new order) or in the preview.
document.querySelectorAll("[data-line-editor]").forEach(function (editor) {
  var holder = editor.closest("[data-quote]");
  var body = editor.querySelector("tbody");
  if (!holder || !body || !window.fetch) return;
  var status = editor.querySelector("[data-quote-status]");
  var timer = null;
  var asked = null;

  function rows() { return Array.prototype.slice.call(body.querySelectorAll("tr[data-row]")); }
  function part(row, name) { return row.querySelector("[data-part='" + name + "']"); }
  function cell(row, name) { return row.querySelector("[data-cell='" + name + "']"); }
  function say(text) { if (status) status.textContent = text; }

  function show(data) {
    var byRow = {};
    data.rows.forEach(function (r) { byRow[r.row] = r; });
    rows().forEach(function (row) {
      var r = byRow[row.dataset.row];
      ["tax", "total", "available"].forEach(function (name) {
        var c = cell(row, name);
        if (c) c.textContent = r ? String(r[name]) : "";
      });
      var c = cell(row, "available");
      if (r && r.short && c) {
        var why = document.createElement("span");
        why.className = "why-not";
        why.textContent = "short by " + r.short;
        c.append(" ", why);
      }
    });
    var totals = document.querySelector("[data-totals]");
    if (totals) {
      ["net", "tax", "gross"].forEach(function (name) {
        var t = totals.querySelector("[data-total='" + name + "']");
        if (t) t.textContent = data[name] + " " + data.currency;
      });
    }
    say(data.rows.length ? "Lines added: subtotal " + data.net + ", tax " + data.tax + ", total "
      + data.gross + " " + data.currency + "." : "");
  }

  function quote() {
    var query = new URLSearchParams();
    rows().forEach(function (row) {
      var sku = part(row, "sku");
      if (!sku || !sku.value.trim()) return;
      ["sku", "quantity", "price"].forEach(function (name) {
        var input = part(row, name);
        if (input && input.value.trim()) query.set("lines-" + row.dataset.row + "-" + name, input.value.trim());
      });
    });
    var text = query.toString();
    if (text === asked) return;
    asked = text;
    if (!text) { show({ rows: [], net: "", tax: "", gross: "", currency: "" }); return; }
    fetch(holder.dataset.quote + "&" + text, {
      headers: { Accept: "application/json" }, credentials: "same-origin",
    })
      .then(function (r) { return r.json().then(function (data) { return { ok: r.ok, data: data }; }); })
      .then(function (answer) {
        if (text !== asked) return; // a later change is on its way
        if (answer.ok) { show(answer.data); return; }
        var where = /^lines-(\d+)-(\w+)$/.exec(answer.data.field || "");
        say((where ? "Row " + (Number(where[1]) + 1) + ", " + where[2] + ": " : "") + answer.data.error);
      })
      .catch(function () { say(""); });
  }

  editor.addEventListener("input", function (event) {
    if (!event.target.matches("[data-part]")) return;
    clearTimeout(timer);
    timer = setTimeout(quote, 300);
  });
  editor.addEventListener("change", function (event) {
    if (event.target.matches("[data-part]")) quote();
  });

  var adder = editor.querySelector("[data-add-row]");
  if (adder) {
    adder.closest("[data-add-row-holder]").hidden = false;
    adder.addEventListener("click", function () {
      var last = rows()[rows().length - 1];
      if (!last || rows().length >= 50) return;
      var from = last.dataset.row;
      var to = String(Number(from) + 1);
      var row = last.cloneNode(true);
      row.dataset.row = to;
      row.querySelectorAll("[id], [for], [name]").forEach(function (el) {
        ["id", "for", "name", "list"].forEach(function (attr) {
          var v = el.getAttribute(attr);
          if (v) el.setAttribute(attr, v.replace("-" + from + "-", "-" + to + "-"));
        });
      });
      row.querySelectorAll("input").forEach(function (input) {
        input.value = "";
        input.removeAttribute("aria-invalid");
      });
      row.querySelectorAll(".field-error, datalist").forEach(function (el) { el.remove(); });
      row.querySelectorAll("[data-cell]").forEach(function (c) { c.textContent = ""; });
      label(row, to);
      body.append(row);
      var sku = part(row, "sku");
      if (sku) { wireFinder(sku); sku.focus(); }
    });
  }
  function label(row, to) {
    row.querySelectorAll("label.visually-hidden").forEach(function (l) {
      l.textContent = l.textContent.replace(/row \d+$/, "row " + (Number(to) + 1));
    });
  }
  quote();
});
