(function () {
  "use strict";
  var panel = document.getElementById("filters");
  if (!panel) { return; }
  panel.hidden = false;
  function checked(name) {
    var wanted = {};
    var boxes = panel.querySelectorAll("input[name='" + name + "']");
    for (var i = 0; i < boxes.length; i++) { wanted[boxes[i].value] = boxes[i].checked; }
    return wanted;
  }
  function apply() {
    var severity = checked("severity");
    var category = checked("category");
    var items = document.querySelectorAll("[data-severity][data-category]");
    for (var i = 0; i < items.length; i++) {
      var item = items[i];
      item.hidden = !(severity[item.getAttribute("data-severity")] && category[item.getAttribute("data-category")]);
    }
  }
  panel.addEventListener("change", apply);
  var reset = document.getElementById("filters-reset");
  if (reset) {
    reset.addEventListener("click", function () {
      var boxes = panel.querySelectorAll("input[type='checkbox']");
      for (var i = 0; i < boxes.length; i++) { boxes[i].checked = true; }
      apply();
    });
  }
}());
