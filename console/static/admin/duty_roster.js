// The duty roster's calendar (console/admin/roster_editor.py): "+" on a day fills a new slot's
// date (a further blank slot is added when none is left), dragging a slot to another day changes
// its date. The server checks and saves the form as the admin leaves it.
(function () {
  "use strict";
  var calendar = document.getElementById("roster-month");
  if (!calendar) { return; }
  var rows = document.querySelector("#slots .slot-rows");

  function blankSlot() {
    var blank = Array.prototype.find.call(rows.querySelectorAll("fieldset.slot.new"), function (row) {
      return !row.querySelector("input[name$='-date']").value;
    });
    if (blank) { return blank; }
    var template = rows.querySelector("fieldset.slot.new");
    var highest = -1;
    document.querySelectorAll("[name^='slots-']").forEach(function (input) {
      highest = Math.max(highest, parseInt(input.name.split("-")[1], 10));
    });
    var copy = template.cloneNode(true);
    var name = "slots-" + (highest + 1);
    copy.id = name;
    copy.querySelectorAll("[name], [id], label[for]").forEach(function (element) {
      ["name", "id", "for"].forEach(function (attribute) {
        var value = element.getAttribute(attribute);
        if (value) { element.setAttribute(attribute, value.replace(/slots-\d+/, name)); }
      });
      if (element.value !== undefined && element.tagName !== "SELECT") { element.value = ""; }
      if (element.tagName === "SELECT") { element.selectedIndex = 0; }
    });
    copy.querySelectorAll(".field-error").forEach(function (error) { error.remove(); });
    rows.appendChild(copy);
    return copy;
  }

  calendar.addEventListener("click", function (event) {
    var button = event.target.closest(".add-slot");
    if (!button) { return; }
    var slot = blankSlot();
    slot.querySelector("input[name$='-date']").value = button.dataset.date;
    slot.classList.add("picked");
    slot.scrollIntoView({block: "center"});
    slot.querySelector("select").focus();
  });

  calendar.addEventListener("dragstart", function (event) {
    var chip = event.target.closest(".slot-chip");
    if (chip) { event.dataTransfer.setData("text/plain", chip.dataset.row); }
  });
  calendar.addEventListener("dragover", function (event) {
    if (event.target.closest(".roster-day")) { event.preventDefault(); }
  });
  calendar.addEventListener("drop", function (event) {
    var day = event.target.closest(".roster-day");
    var row = event.dataTransfer.getData("text/plain");
    var chip = row && calendar.querySelector(".slot-chip[data-row='" + row + "']");
    if (!day || !chip) { return; }
    event.preventDefault();
    document.querySelector("[name='" + row + "-date']").value = day.dataset.date;
    chip.classList.add("moved");
    chip.title = "已改到 " + day.dataset.date + " (尚未保存)";
    day.appendChild(chip);
  });
})();
