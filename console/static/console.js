// 宿事速办 console: what every page shares (console/templates/base.html loads it). No inline
// scripts anywhere: pages mark their elements with data- attributes and this file wires them.
//   <form data-long-action="正在检查…">   the submit button disables, elapsed time shows
//   <div data-chart='{"kind": "bar", ...}'>  an Apache ECharts chart (see Suban.chart)
//   <time data-beijing="ISO">               shown as Beijing time YYYY-MM-DD HH:mm
const Suban = (() => {
  const BEIJING = new Intl.DateTimeFormat("zh-CN", {timeZone: "Asia/Shanghai", year: "numeric",
    month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false});

  function beijing(moment) {
    if (!moment) return "";
    const date = new Date(moment);
    if (Number.isNaN(date.getTime())) return String(moment);
    const part = Object.fromEntries(BEIJING.formatToParts(date).map((p) => [p.type, p.value]));
    return `${part.year}-${part.month}-${part.day} ${part.hour}:${part.minute}`;
  }

  function csrfToken() {
    return document.querySelector('meta[name="csrf-token"]').content;
  }

  // The console's own API with the login session (no token: that is for machine clients).
  async function api(path, options = {}) {
    const response = await fetch(path, {...options, credentials: "same-origin",
      headers: {"X-CSRFToken": csrfToken(), ...(options.headers || {})}});
    if (response.status === 401) {
      window.location.assign("/login?next=" + encodeURIComponent(location.pathname + location.search));
      throw new Error("登录已过期, 请重新登录");
    }
    if (!response.ok) {
      const body = await response.json().catch(() => ({errors: {"服务器": [`${response.status} ${response.statusText}`]}}));
      throw new Error(Object.entries(body.errors).map(([field, messages]) => `${field}: ${messages.join("; ")}`).join(" / "));
    }
    return response;
  }

  // Elapsed time in a status element while a long action runs: "正在同步… 已用时 12 秒".
  function showElapsed(status, label) {
    const started = Date.now();
    status.hidden = false;
    status.className = "suban-progress alert alert-info";
    status.setAttribute("role", "status");
    status.innerHTML = '<span class="spinner-border spinner-border-sm me-2" aria-hidden="true"></span><span></span>';
    const text = status.lastElementChild;
    const tick = () => { text.textContent = `${label} 已用时 ${Math.round((Date.now() - started) / 1000)} 秒`; };
    tick();
    return setInterval(tick, 1000);
  }

  // Run `task` once at a time from `button`; the result or the error stays in `status`.
  async function longAction(button, status, label, task) {
    if (button.disabled) return;
    button.disabled = true;
    const timer = showElapsed(status, label);
    try {
      const result = await task();
      status.className = "suban-progress alert alert-success";
      status.textContent = result;
    } catch (error) {
      status.className = "suban-progress alert alert-danger";
      status.setAttribute("role", "alert");
      status.textContent = error.message;
    } finally {
      clearInterval(timer);
      button.disabled = false;
    }
  }

  // A form posted the usual way whose answer takes long: one submission, elapsed time shown.
  function guardForm(form) {
    form.addEventListener("submit", (event) => {
      if (form.dataset.running) { event.preventDefault(); return; }
      form.dataset.running = "1";
      if (event.submitter && event.submitter.name) {  // a disabled button is not submitted
        const chosen = document.createElement("input");
        chosen.type = "hidden";
        chosen.name = event.submitter.name;
        chosen.value = event.submitter.value;
        form.appendChild(chosen);
      }
      form.querySelectorAll("button, input[type=submit]").forEach((button) => { button.disabled = true; });
      let status = form.querySelector("[data-progress]");
      if (!status) {
        status = document.createElement("div");
        form.appendChild(status);
      }
      showElapsed(status, form.dataset.longAction);
    });
  }

  // spec: {kind: "bar" | "line", categories: [...], series: [{name, values, kind?, axis?}],
  //        horizontal: bool, percentAxis: bool (a second axis 0–100%)}
  function chart(element, spec) {
    const instance = echarts.getInstanceByDom(element) || echarts.init(element, null, {renderer: "canvas"});
    instance.resize();  // the element's height may have changed with the number of rows
    const category = {type: "category", data: spec.categories, axisLabel: {interval: "auto", hideOverlap: true}};
    const value = [{type: "value", minInterval: 1}];
    if (spec.percentAxis) value.push({type: "value", min: 0, max: 100, axisLabel: {formatter: "{value}%"}});
    instance.setOption({
      animation: false,  // the county's office PCs are slow; figures should simply be there
      color: ["#b5152b", "#1f5fa8", "#d97706", "#198754"],
      textStyle: {fontFamily: getComputedStyle(document.body).fontFamily},
      tooltip: {trigger: "axis"},
      legend: {show: spec.series.length > 1, top: 0},
      grid: {left: 8, right: spec.percentAxis || spec.horizontal ? 48 : 16, top: spec.series.length > 1 ? 32 : 16, bottom: 8, containLabel: true},
      title: {show: !spec.categories.length, text: "暂无数据", left: "center", top: "middle",
        textStyle: {color: "#888", fontSize: 14, fontWeight: "normal"}},
      xAxis: spec.horizontal ? value[0] : category,
      yAxis: spec.horizontal ? {...category, inverse: true} : value,
      series: spec.series.map((series) => ({name: series.name, type: series.kind || spec.kind,
        data: series.values, yAxisIndex: series.axis || 0, smooth: true,
        label: {show: Boolean(spec.horizontal), position: "right"}})),
    }, true);
    return instance;
  }

  // A file input's chosen names in Chinese beside its label-button (the browser's own button
  // speaks the browser's language).
  function showFileNames(input) {
    const names = input.parentElement.querySelector(".suban-file-names");
    input.addEventListener("change", () => {
      names.textContent = [...input.files].map((file) => file.name).join("、") || input.dataset.empty;
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("form[data-long-action]").forEach(guardForm);
    document.querySelectorAll("input.suban-file").forEach(showFileNames);
    document.querySelectorAll("[data-chart]").forEach((element) => chart(element, JSON.parse(element.dataset.chart)));
    document.querySelectorAll("time[data-beijing]").forEach((element) => { element.textContent = beijing(element.dataset.beijing); });
  });
  window.addEventListener("resize", () => {
    document.querySelectorAll(".suban-chart").forEach((element) => {
      const instance = window.echarts && echarts.getInstanceByDom(element);
      if (instance) instance.resize();
    });
  });

  return {api, beijing, chart, longAction};
})();
