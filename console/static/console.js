// 宿事速办 console: what every page shares (console/templates/base.html loads it). No inline
// scripts anywhere: pages mark their elements with data- attributes and this file wires them.
//   <form data-long-action="正在登录…">   one submission: the button disables, elapsed time shows
//   <form data-job="kind">                 a long action run as a job (see runJob)
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
    if (!response.ok && !(options.allow || []).includes(response.status)) {
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

  // Long actions run as jobs on the server (console/jobs.py), one of a kind at a time. A page
  // starts one and follows it: n of N where known, the elapsed time, then the result or the
  // error, which stays (a reload shows the latest job of the kind again).
  function showJob(status, state, note = "") {
    status.hidden = false;
    status.classList.add("suban-progress", "alert");
    status.classList.remove("alert-info", "alert-success", "alert-danger");
    status.replaceChildren();
    if (note) {
      const refused = document.createElement("div");
      refused.className = "fw-bold mb-1";
      refused.textContent = note;
      status.append(refused);
    }
    const head = document.createElement("div");
    if (state.running) {
      status.classList.add("alert-info");
      status.setAttribute("role", "status");
      const counted = state.total ? ` 第 ${state.done} / ${state.total} 项` : "";
      head.innerHTML = '<span class="spinner-border spinner-border-sm me-2" aria-hidden="true"></span><span></span>';
      head.lastElementChild.textContent = `正在${state.title}…${state.step ? " " + state.step : ""}${counted} · 已用时 ${state.elapsed_s} 秒`;
      status.append(head);
      if (state.total) {
        const bar = document.createElement("div");
        bar.className = "progress mt-2";
        bar.setAttribute("role", "progressbar");
        bar.setAttribute("aria-label", state.title);
        bar.setAttribute("aria-valuemin", "0");
        bar.setAttribute("aria-valuemax", String(state.total));
        bar.setAttribute("aria-valuenow", String(state.done));
        bar.innerHTML = '<div class="progress-bar"></div>';
        bar.firstElementChild.style.width = `${Math.round(100 * state.done / state.total)}%`;
        status.append(bar);
      }
      return;
    }
    status.classList.add(state.failed ? "alert-danger" : "alert-success");
    status.setAttribute("role", state.failed ? "alert" : "status");
    head.className = "fw-bold";
    head.textContent = `${state.title}${state.failed ? "未完成" : "已完成"} (${state.user}, ${state.started} 开始, 用时 ${state.elapsed_s} 秒)`;
    const lines = document.createElement("div");
    lines.className = "suban-job-lines";
    lines.textContent = state.lines.join("\n");
    status.append(head, lines);
  }

  // Follow the latest job of `kind` until it ends (buttons disabled meanwhile); its last state.
  async function followJob(kind, status, buttons = [], note = "") {
    let state = await (await api(`/jobs/${kind}`)).json();
    if (!state.started) return state;  // never ran
    buttons.forEach((button) => { button.disabled = state.running; });
    while (state.running) {
      showJob(status, state, note);
      await new Promise((resolve) => { setTimeout(resolve, 1000); });
      state = await (await api(`/jobs/${kind}`)).json();
    }
    showJob(status, state, note);
    buttons.forEach((button) => { button.disabled = false; });
    return state;
  }

  // Start a job by posting `body` to `url`, then follow it; a start refused because another
  // job of the kind runs follows that one. Resolves with the job's last state.
  async function runJob(kind, url, body, status, buttons = []) {
    if (buttons.some((button) => button.disabled)) return null;
    buttons.forEach((button) => { button.disabled = true; });
    showJob(status, {title: "开始", running: true, elapsed_s: 0});
    try {
      const response = await api(url, {method: "POST", body, allow: [400, 409]});
      const started = await response.json();
      const note = started.errors ? Object.values(started.errors).flat().join(" ") : "";
      if (response.status === 400) throw new Error(note);  // the form's fault: nothing started
      return await followJob(kind, status, buttons, note);
    } catch (error) {
      status.hidden = false;
      status.className = "suban-progress alert alert-danger";
      status.setAttribute("role", "alert");
      status.textContent = error.message;
      buttons.forEach((button) => { button.disabled = false; });
      return null;
    }
  }

  // <form data-job="kind">: posted as a job; the state shows in [data-job-status="kind"]. With
  // data-job-reload the page reloads after a success (its tables changed).
  function jobForm(form) {
    const kind = form.dataset.job;
    const status = document.querySelector(`[data-job-status="${kind}"]`);
    const buttons = [...form.querySelectorAll("button")];
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const state = await runJob(kind, form.action, new FormData(form), status, buttons);
      if (state && !state.failed && "jobReload" in form.dataset) window.location.reload();
    });
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
    document.querySelectorAll("form[data-job]").forEach(jobForm);
    document.querySelectorAll("[data-job-status][data-follow]").forEach((status) => {
      const buttons = [...document.querySelectorAll(`form[data-job="${status.dataset.jobStatus}"] button`)];
      followJob(status.dataset.jobStatus, status, buttons).catch((error) => { status.hidden = false; status.textContent = error.message; });
    });
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

  return {api, beijing, chart, runJob, followJob};
})();
