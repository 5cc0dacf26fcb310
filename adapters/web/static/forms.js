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
