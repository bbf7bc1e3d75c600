// The agent's desk: suggestions while the caller talks, then the intake. No inline scripts:
// the console's content security policy allows scripts from its own files only.
(function () {
  "use strict";
  var form = document.getElementById("intake");
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var WATCHED = ["title", "content", "address", "township", "callerPhone", "kind", "categoryCode"];
  var latest = 0;          // the newest request; older answers are dropped
  var suggested = [];      // the category suggestions shown now
  var timer = null;
  var panelEmpty = {};     // each panel section's text before anything is typed
  var mergeInto = "";      // 并案: the open appeal the appeal being taken in joins
  var reviewBox = document.getElementById("review");
  // An appeal waiting at the centre's review, opened to merge it (?review=<number>).
  var review = reviewBox ? JSON.parse(reviewBox.dataset.review) : null;
  document.querySelectorAll(".panel section > div").forEach(function (box) {
    panelEmpty[box.id] = box.textContent;
  });

  function field(key) { return form.elements[key]; }
  function value(key) {
    var element = field(key);
    if (!element) return "";
    if (element instanceof RadioNodeList) return element.value;
    return element.type === "checkbox" ? element.checked : element.value.trim();
  }
  function text(tag, content, className) {
    var element = document.createElement(tag);
    element.textContent = content;
    if (className) element.className = className;
    return element;
  }
  function post(url, body) {
    return fetch(url, {method: "POST", credentials: "same-origin", body: JSON.stringify(body),
                       headers: {"Content-Type": "application/json", "X-CSRFToken": csrf}});
  }

  // -- hide conditions of the .form (=not(x), =x != "v", =x = "v") --------------------------
  function hidden(rule) {
    var not = /^=\s*not\(\s*(\w+)\s*\)$/.exec(rule);
    if (not) return !value(not[1]);
    var compare = /^=\s*(\w+)\s*(!=|=)\s*"([^"]*)"$/.exec(rule);
    if (compare) return compare[2] === "=" ? value(compare[1]) === compare[3] : value(compare[1]) !== compare[3];
    return false;
  }
  function applyHideRules() {
    form.querySelectorAll("[data-hide]").forEach(function (box) {
      box.hidden = hidden(box.dataset.hide);
    });
  }

  // -- suggestions -------------------------------------------------------------------------
  function askSoon() {
    clearTimeout(timer);
    timer = setTimeout(ask, 350);
  }
  function ask() {
    var request = ++latest;
    var body = {title: value("title"), content: value("content"), address: value("address"),
                township: value("township"), phone: value("callerPhone"), kind: value("kind"),
                categoryCode: value("categoryCode"), appealNumber: review ? review.appealNumber : ""};
    if (!body.title && !body.content && !body.phone && !body.address) return;
    post("/desk/suggestions", body).then(function (response) {
      return response.json().then(function (data) { return {ok: response.ok, data: data}; });
    }).then(function (answer) {
      if (request !== latest) return;
      if (answer.ok) show(answer.data);
    }).catch(function () { /* the panel keeps what it showed; typing goes on */ });
  }
  function section(id, build, empty) {
    var box = document.getElementById(id);
    box.replaceChildren();
    var filled = build(box);
    box.className = filled ? "" : "empty";
    if (!filled) box.textContent = empty;
  }
  function take(key, chosen) {
    var element = field(key);
    element.value = chosen;
    element.dispatchEvent(new Event("change", {bubbles: true}));
  }
  function show(data) {
    suggested = data.categories;
    var scope = document.getElementById("p-scope");
    scope.replaceChildren();
    scope.hidden = data.scope.length === 0;
    if (data.scope.length) {
      scope.appendChild(text("h2", "受理范围提示"));
      data.scope.forEach(function (warning) {
        var line = text("p", (warning.kind === "emergency" ? "紧急事项，请转 " + warning.transferTo + "：" : "不予受理：")
                             + warning.name + "。" + warning.reason + " 告知诉求人：" + warning.referral);
        scope.appendChild(line);
        scope.appendChild(text("p", "依据：" + warning.evidence, "note"));
      });
    }
    section("p-categories", function (box) {
      var list = document.createElement("ol");
      data.categories.forEach(function (category, index) {
        var item = text("li", category.name + "（" + Math.round(category.confidence * 100) + "%）");
        var meter = text("span", "", "meter");
        meter.style.width = Math.max(4, Math.round(category.confidence * 80)) + "px";
        item.appendChild(meter);
        var button = text("button", "采用", "take");
        button.type = "button";
        button.title = "Alt+" + (index + 1);
        button.addEventListener("click", function () { take("categoryCode", category.code); });
        item.appendChild(button);
        list.appendChild(item);
      });
      box.appendChild(list);
      return data.categories.length > 0;
    }, "暂无分类建议");
    section("p-route", function (box) {
      var route = data.route;
      if (!route) return false;
      var lead = route.leadUnit ? route.leadUnit.name : "待人工确定";
      var co = route.coUnits.map(function (unit) { return unit.name; }).join("、") || "无";
      box.appendChild(text("p", "牵头：" + lead + "（" + (route.basis === "territory" ? "属地" : "属事") + "）；配合：" + co
                                + "；" + (route.autoDispatch ? "自动派单" : "人工派单")));
      box.appendChild(text("p", route.note, "note"));
      return true;
    }, "选定或采用分类后给出");
    section("p-township", function (box) {
      var place = data.township;
      if (place.status === "found") {
        var line = text("p", place.township.name + "（命中：" + place.matched.join("、") + "）");
        if (place.source !== "given") {
          var button = text("button", "采用", "take");
          button.type = "button";
          button.addEventListener("click", function () { take("township", place.township.id); });
          line.appendChild(button);
        }
        box.appendChild(line);
        return true;
      }
      if (place.status === "ambiguous") {
        box.appendChild(text("p", "可能是：" + place.candidates.map(function (unit) { return unit.name; }).join("、")
                                  + "（命中：" + place.matched.join("、") + "），请向诉求人确认"));
        return true;
      }
      return false;
    }, "未能识别乡镇（街道），请询问具体地点");
    function briefs(list, mergeable) {
      return function (box) {
        var items = document.createElement("ul");
        list.forEach(function (brief) {
          var words = brief.appealNumber + " " + (brief.title || "") + "（" + brief.state
                      + (brief.receivedAt ? "，" + brief.receivedAt.slice(0, 16).replace("T", " ") : "")
                      + (brief.similarity !== null ? "，相似度 " + Math.round(brief.similarity * 100) + "%" : "") + "）";
          var item = text("li", words);
          if (mergeable && !(review && review.mergedInto)) {
            var button = text("button", "并案", "take merge");
            button.type = "button";
            button.title = "与该诉求属同一事项：并入工单 " + brief.appealNumber;
            button.addEventListener("click", function () { mergeWith(brief.appealNumber); });
            item.appendChild(button);
          }
          items.appendChild(item);
        });
        box.appendChild(items);
        return list.length > 0;
      };
    }
    section("p-knowledge", function (box) {
      var list = document.createElement("ol");
      data.knowledge.forEach(function (entry) {
        var item = text("li", entry.question);
        var button = text("button", "用于当场解答", "take");
        button.type = "button";
        button.addEventListener("click", function () { answerWith(entry); });
        item.appendChild(button);
        item.appendChild(text("p", entry.answer + (entry.unit ? "（" + entry.unit + "，第 " + entry.version + " 版）" : ""), "note"));
        list.appendChild(item);
      });
      box.appendChild(list);
      return data.knowledge.length > 0;
    }, "知识库中暂无相关条目");
    section("p-earlier", briefs(data.earlierAppeals), "近期无该号码的诉求");
    section("p-similar", briefs(data.similarOpenAppeals, true), "无相似的在办诉求");
  }

  function clearPanel() {
    latest++;  // an answer still on its way is for the appeal just submitted
    suggested = [];
    document.getElementById("p-scope").hidden = true;
    Object.keys(panelEmpty).forEach(function (id) {
      var box = document.getElementById(id);
      box.className = "empty";
      box.textContent = panelEmpty[id];
    });
  }

  // An inquiry answered on the call from a knowledge entry: the answer read out, and which
  // entry and version it was, recorded with the appeal.
  function answerWith(entry) {
    take("kind", "inquiry");
    field("answeredOnCall").checked = true;
    applyHideRules();
    field("answer").value = entry.answer;
    field("knowledgeEntryId").value = entry.entryId;
    field("knowledgeVersion").value = entry.version;
  }

  // -- 并案 ----------------------------------------------------------------------------------
  // The appeal being taken in is submitted with `mergeInto`; one waiting at review is merged
  // at once.
  function mergeWith(number) {
    if (review) {
      answerReview(post("/desk/appeals/" + review.appealNumber + "/merge", {into: number}),
                   "已并入工单 " + number + "，诉求人将收到短信告知");
      return;
    }
    mergeInto = number;
    document.getElementById("merge-into-number").textContent = number;
    document.getElementById("merge-into").hidden = false;
    document.getElementById("submit").textContent = "提交并并案";
  }
  function noMerge() {
    mergeInto = "";
    document.getElementById("merge-into").hidden = true;
    document.getElementById("submit").textContent = "提交受理";
  }
  function answerReview(request, done) {
    var result = document.getElementById("review-result");
    result.textContent = "正在办理…";
    request.then(function (response) {
      return response.json().then(function (data) { return {ok: response.ok, data: data}; });
    }).then(function (answer) {
      if (answer.ok) {
        result.textContent = done;
        reviewBox.querySelectorAll("button").forEach(function (button) { button.disabled = true; });
        document.querySelectorAll("#p-similar button.merge").forEach(function (button) { button.disabled = true; });
      } else {
        result.textContent = "未办理：" + Object.keys(answer.data.errors || {}).map(function (key) {
          return [].concat(answer.data.errors[key]).join("；");
        }).join("；");
      }
    }).catch(function () { result.textContent = "未办理：控制台暂时无法连接，请稍后重试"; });
  }
  document.getElementById("merge-cancel").addEventListener("click", noMerge);
  if (review) {
    ["title", "content", "address", "township", "kind", "categoryCode"].forEach(function (key) {
      if (field(key) && review[key]) field(key).value = review[key];
    });
    var unmergeButton = document.getElementById("unmerge");
    if (unmergeButton) {
      unmergeButton.addEventListener("click", function () {
        answerReview(post("/desk/appeals/" + review.appealNumber + "/unmerge", {}),
                     "已取消并案，工单按原流程重新核查受理范围和派单");
      });
    }
  }

  // -- submitting ----------------------------------------------------------------------------
  function intakeValues() {
    var values = {};
    Array.prototype.forEach.call(form.querySelectorAll(".field"), function (box) {
      if (box.hidden) return;
      var key = box.dataset.key;
      var element = field(key);
      var current = value(key);
      if (element.type === "checkbox") { values[key] = current; return; }
      if (current === "") return;
      // Beijing time as typed, YYYY-MM-DD HH:mm, to the ISO 8601 the intake takes.
      if (element.dataset && "datetime" in element.dataset) current = current.replace(" ", "T") + ":00+08:00";
      values[key] = current;
    });
    values.categorySuggested = suggested.length ? suggested[0].code : "";
    if (mergeInto) values.mergeInto = mergeInto;
    return values;
  }
  function showErrors(errors) {
    form.querySelectorAll(".field").forEach(function (box) {
      var messages = errors[box.dataset.key];
      box.classList.toggle("invalid", Boolean(messages));
      document.getElementById("e-" + box.dataset.key).textContent = messages ? [].concat(messages).join("；") : "";
    });
    var others = Object.keys(errors).filter(function (key) { return !field(key); });
    return others.map(function (key) { return [].concat(errors[key]).join("；"); }).join("；");
  }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var button = document.getElementById("submit");
    var result = document.getElementById("result");
    button.disabled = true;
    result.textContent = "正在提交…";
    post("/desk/appeals", intakeValues()).then(function (response) {
      return response.json().then(function (data) { return {status: response.status, data: data}; });
    }).then(function (answer) {
      if (answer.status === 201 || answer.status === 202) {
        showErrors({});
        result.textContent = (answer.status === 201 ? "已受理，工单编号 " : "已受理并保存（流程引擎暂不可用，恢复后自动启动），工单编号 ")
                             + answer.data.appealNumber + (mergeInto ? "，已并入工单 " + mergeInto : "");
        noMerge();
        form.reset();
        applyHideRules();
        clearPanel();
      } else {
        var rest = showErrors(answer.data.errors || {});
        result.textContent = "未提交：请按红字修改" + (rest ? "（" + rest + "）" : "");
      }
    }).catch(function () {
      result.textContent = "未提交：控制台暂时无法连接，请稍后重试，已填内容仍在";
    }).finally(function () { button.disabled = false; });
  });

  // -- keyboard ------------------------------------------------------------------------------
  document.addEventListener("keydown", function (event) {
    if (event.altKey && /^[1-3]$/.test(event.key) && suggested[Number(event.key) - 1]) {
      event.preventDefault();
      take("categoryCode", suggested[Number(event.key) - 1].code);
    } else if (event.ctrlKey && event.key === "Enter") {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  form.addEventListener("input", function (event) {
    if (WATCHED.indexOf(event.target.name) >= 0) askSoon();
  });
  form.addEventListener("change", function (event) {
    applyHideRules();
    if (WATCHED.indexOf(event.target.name) >= 0) askSoon();
  });
  applyHideRules();
  if (review) ask();
}());
