// The message templates' editor (console/admin/template_editor.py): the placeholders of each
// template's channel as buttons that insert them at the cursor, and the template rendered for
// the sample appeal as the admin types, with an SMS's length and message count. The server
// checks the placeholders again when the form is checked or saved.
(function () {
  "use strict";
  var source = document.getElementById("template-catalogue");
  if (!source) { return; }
  var catalogue = JSON.parse(source.textContent);

  function render(text, values, unknown) {
    return text.replace(/\{\{|\}\}|\{([^{}]*)\}/g, function (match, name) {
      if (match === "{{") { return "{"; }
      if (match === "}}") { return "}"; }
      if (Object.prototype.hasOwnProperty.call(values, name)) { return values[name]; }
      unknown.push(match);
      return match;
    });
  }

  function smsParts(length) {
    return length <= catalogue.single ? 1 : Math.ceil(length / catalogue.part);
  }

  function setup(card) {
    var name = card.dataset.template;
    var field = function (key) { return card.querySelector("[name='" + name + "-" + key + "']"); };
    var audience = field("audience"), subject = field("subject"), text = field("text");
    var smsId = field("sms_template_id");
    var chips = card.querySelector(".chips"), live = card.querySelector(".live-text");
    var count = card.querySelector(".sms-count"), problems = card.querySelector(".live-problems");
    var target = text;

    function drawChips() {
      chips.textContent = "";
      (catalogue.fields[audience.value] || []).forEach(function (entry) {
        var button = document.createElement("button");
        button.type = "button";
        button.className = "btn btn-sm btn-outline-primary placeholder-chip";
        button.dataset.name = entry[0];
        button.title = entry[1];
        button.textContent = "{" + entry[0] + "}";
        chips.appendChild(button);
      });
    }

    function update() {
      var sms = audience.value === "caller";
      var values = catalogue.values[audience.value] || {};
      var unknown = [];
      var body = render(text.value, values, unknown);
      var heading = render(subject.value, values, unknown);
      subject.closest(".field").hidden = sms && !subject.value;
      smsId.closest(".field").hidden = !sms && !smsId.value;
      if (sms) {
        var content = catalogue.sign ? "【" + catalogue.sign + "】" + body : body;
        var length = Array.from(content).length;
        var parts = smsParts(length);
        live.textContent = content;
        count.textContent = "短信 " + length + " 字 (含签名), 计 " + parts + " 条" +
          (parts > 1 ? " (超过 " + catalogue.single + " 字按长短信计, 每条 " + catalogue.part + " 字)" : "");
      } else {
        live.textContent = (heading ? heading + "\n\n" : "") + body;
        count.textContent = catalogue.names[audience.value] || "";
      }
      problems.textContent = unknown.length ? "未知占位符 " + Array.from(new Set(unknown)).join("、") +
        ", 此渠道不能使用, 保存时将被拒绝" : "";
    }

    [subject, text].forEach(function (input) {
      input.addEventListener("focus", function () { target = input; });
      input.addEventListener("input", update);
    });
    audience.addEventListener("change", function () { drawChips(); update(); });
    chips.addEventListener("click", function (event) {
      var chip = event.target.closest(".placeholder-chip");
      if (!chip) { return; }
      var insert = "{" + chip.dataset.name + "}";
      var start = target.selectionStart, end = target.selectionEnd;
      target.value = target.value.slice(0, start) + insert + target.value.slice(end);
      target.focus();
      target.setSelectionRange(start + insert.length, start + insert.length);
      update();
    });
    update();
  }

  document.querySelectorAll(".template-card").forEach(setup);
})();
