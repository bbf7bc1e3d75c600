// 考核与研判 pages: read /api/v1/assessment/* with the console login (console.js Suban.api) and
// draw tables and Apache ECharts charts. No caller data is ever sent.
(() => {
  const API = "/api/v1/assessment";
  const percent = (value) => value === null || value === undefined ? "—" : (100 * value).toFixed(1) + "%";
  const number = (value) => value === null || value === undefined ? "—" : String(value);
  const score = (value) => value === null || value === undefined ? "—" : value.toFixed(2);
  const INDICATORS = [
    ["unit_name", "单位", String], ["received", "受理", number], ["dispatched", "派单", number],
    ["closed", "办结", number], ["sign_for_on_time_rate", "按时签收率", percent],
    ["feedback_on_time_rate", "按时反馈率", percent],
    ["completion_on_time_rate", "按时办结率", percent], ["solved_rate", "问题解决率", percent],
    ["satisfied_rate", "评价满意率", percent], ["overdue", "超期", number],
    ["major_risk", "重大风险", number],
    ["supervision_level1", "一级督办", number], ["supervision_level2", "二级督办", number],
    ["supervision_level3", "三级督办", number], ["redispatch_rate", "二次交办率", percent],
    ["improper_returns", "不当退单", number], ["consultations", "1+X会商", number],
    ["extensions", "延期", number], ["merged", "合并件数", number], ["score", "综合得分", score],
  ];
  const PROBLEMS = [["category_name", "诉求分类", String], ["appeals", "本期", number],
    ["previous", "上期", number], ["change", "环比", percent], ["unsatisfied", "不满意", number]];
  const SURGES = [["township_name", "乡镇(街道)", String], ["category_name", "诉求分类", String],
    ["count", "本周", number], ["baseline", "周均基线", score], ["p_value", "偶然概率", (v) => v.toExponential(1)]];
  const ISSUES = [["township_name", "乡镇(街道)", String], ["category_name", "诉求分类", String],
    ["this_week", "本周", number], ["forecast", "下周预计", score], ["reasons", "依据", (r) => r.join("; ")]];
  const WEEKLY = [["week", "周 (周一)", String], ["township_name", "乡镇(街道)", String],
    ["category_name", "诉求分类", String], ["appeals", "件数", number]];
  const REPEATS = [["basis", "依据", String], ["township_name", "乡镇(街道)", String],
    ["category_name", "诉求分类", String], ["appeals", "件数", number],
    ["appeal_numbers", "工单", (n) => n.join(" ")]];

  const call = (path, options) => Suban.api(API + path, options);

  // `link(row, key)`: the address a cell links to (its drill-down), or null.
  function table(element, columns, rows, link = () => null) {
    const head = "<tr>" + columns.map(([, title]) => `<th>${title}</th>`).join("") + "</tr>";
    const body = rows.map((row) => "<tr>" + columns.map(([key, , format]) => {
      const text = escape(format(row[key])), href = link(row, key);
      return `<td>${href ? `<a href="${escape(href)}">${text}</a>` : text}</td>`;
    }).join("") + "</tr>").join("");
    element.innerHTML = head + (body || `<tr><td colspan="${columns.length}">无</td></tr>`);
  }

  // Every figure of a unit's row opens the list of the appeals behind it.
  // The score opens how it is made (each rate, its weight and its own appeals).
  const EXPLAINED = new Set(INDICATORS.map(([key]) => key).filter((key) => key !== "unit_name"));
  function explainLink(group, params) {
    return (row, key) => EXPLAINED.has(key) ? "/assessment/explain?" + new URLSearchParams({
      ...params, group, figure: key, ...(group === "county" ? {} : {unit: row.unit})}).toString() : null;
  }

  // Every number of a 研判 table opens the appeals behind its row: table → (the row's keys
  // that link, the row's identity in the query).
  const ANALYSIS_LINKS = {
    problems: [["appeals", "previous", "change", "unsatisfied"], (row) => ({category: row.category_code})],
    surges: [["count", "baseline", "p_value"], (row) => ({township: row.township, category: row.category_code})],
    weekly: [["appeals"], (row) => ({week: row.week, township: row.township || "", category: row.category_code || ""})],
  };
  function analysisLink(table, params) {
    const [keys, identity] = ANALYSIS_LINKS[table];
    return (row, key) => keys.includes(key) ? "/assessment/explain?" + new URLSearchParams({
      ...params, table, ...identity(row)}).toString() : null;
  }

  // The synthetic-data warning, shown on every page that counts synthetic appeals.
  function label(text) {
    const element = document.getElementById("synthetic");
    element.textContent = text || "";
    element.hidden = !text;
  }

  function escape(text) {
    return String(text).replace(/[&<>"]/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c]));
  }

  function scores(element, rows) {
    const shown = rows.filter((row) => row.score !== null && row.score !== undefined);
    element.style.height = `${Math.max(200, 26 * shown.length + 40)}px`;
    Suban.chart(element, {kind: "bar", horizontal: true, categories: shown.map((row) => row.unit_name),
      series: [{name: "综合得分", values: shown.map((row) => Number(row.score.toFixed(2)))}]});
  }

  function trend(element, months) {
    Suban.chart(element, {kind: "bar", percentAxis: true, categories: months.map((item) => item.month),
      series: [{name: "受理件数", values: months.map((item) => item.county.received)},
        {name: "评价满意率", kind: "line", axis: 1, values: months.map((item) =>
          item.county.satisfied_rate === null ? null : Number((100 * item.county.satisfied_rate).toFixed(1)))}]});
  }

  async function download(path, name) {
    const blob = await (await call(path)).blob();
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = name;
    link.click();
  }

  async function overview() {
    const form = document.getElementById("query"), message = document.getElementById("message");
    const query = () => new URLSearchParams({month: form.month.value, group: form.group.value,
      include_synthetic: form.include_synthetic.checked}).toString();
    const scope = () => `include_synthetic=${form.include_synthetic.checked}`;
    async function load() {
      try {
        const report = await (await call("/indicators?" + query())).json();
        label(report.synthetic_label);
        table(document.getElementById("indicators"), INDICATORS, report.rows, explainLink(
          form.group.value, {month: form.month.value, include_synthetic: form.include_synthetic.checked}));
        scores(document.getElementById("chart"), report.rows);
        const analysis = await (await call(`/analysis?month=${form.month.value}&${scope()}`)).json();
        const params = {month: form.month.value, include_synthetic: form.include_synthetic.checked};
        table(document.getElementById("problems"), PROBLEMS, analysis.problems, analysisLink("problems", params));
        table(document.getElementById("surges"), SURGES, analysis.surges, analysisLink("surges", params));
        table(document.getElementById("act-before"), ISSUES, analysis.act_before);
        table(document.getElementById("repeats"), REPEATS, analysis.repeats);
        const busiest = [...analysis.weekly].sort((a, b) => b.appeals - a.appeals).slice(0, 30);
        table(document.getElementById("weekly"), WEEKLY, busiest, analysisLink("weekly", params));
        const county = await (await call(`/trend?months=12&month=${form.month.value}&${scope()}`)).json();
        trend(document.getElementById("trend"), county.months);
        document.getElementById("print").href = `bulletin?month=${form.month.value}&${scope()}`;
      } catch (error) { message.textContent = error.message; }
    }
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      message.textContent = "";
      load();
    });
    const syncButton = document.getElementById("sync");
    async function syncThenLoad() {  // the store is brought up to date whenever the page opens
      await Suban.runJob("assessment-sync", "/assessment/sync", null,
        document.getElementById("sync-status"), [syncButton]);
      await load();
    }
    syncButton.addEventListener("click", syncThenLoad);
    document.getElementById("csv").addEventListener("click", () => download("/indicators.csv?" + query(), "indicators.csv")
      .catch((error) => { message.textContent = error.message; }));
    document.getElementById("xlsx").addEventListener("click", () => download(`/bulletin.xlsx?month=${form.month.value}&${scope()}`,
      `bulletin-${form.month.value}.xlsx`).catch((error) => { message.textContent = error.message; }));
    syncThenLoad();
  }

  async function bulletin(month) {
    try {
      const scope = new URLSearchParams(location.search).get("include_synthetic");
      const params = {month, ...(scope === null ? {} : {include_synthetic: scope})};
      const data = await (await call("/bulletin?" + new URLSearchParams(params))).json();
      label(data.synthetic_label);
      document.getElementById("title").textContent = data.title;
      document.getElementById("meta").textContent = `统计期间 ${data.period.start} 至 ${data.period.end} (按受理日期) · 数据截至 ${Suban.beijing(data.as_of)}`;
      for (const group of ["township", "department", "county"]) {
        table(document.getElementById(group), INDICATORS, data.indicators[group],
          explainLink(group, params));
      }
      table(document.getElementById("problems"), PROBLEMS, data.problems, analysisLink("problems", params));
      table(document.getElementById("surges"), SURGES, data.surges, analysisLink("surges", params));
      table(document.getElementById("act-before"), ISSUES, data.act_before);
    } catch (error) { document.getElementById("message").textContent = error.message; }
  }

  // 2026-11-30T08:05:00+08:00 → 2026-11-30 08:05 (times are Asia/Shanghai)
  const minute = (value) => value ? Suban.beijing(value) : "—";
  const APPEALS = [["appeal_number", "工单编号", String], ["title", "标题", String],
    ["lead_unit_name", "牵头单位", String], ["township_name", "乡镇(街道)", String],
    ["received_at", "受理时间", minute], ["state", "状态", String], ["step", "环节", String],
    ["deadline", "时限", minute], ["done_at", "完成时间", minute], ["adds", "计入", number],
    ["reason", "原因", String]];

  // The appeals behind a number of a 研判 table (category instead of deadline and step).
  const TABLE_APPEALS = [["appeal_number", "工单编号", String], ["title", "标题", String],
    ["lead_unit_name", "牵头单位", String], ["township_name", "乡镇(街道)", String],
    ["category_name", "诉求分类", String], ["received_at", "受理时间", minute],
    ["state", "状态", String], ["adds", "计入", number], ["reason", "原因", String]];
  // The rates a composite score is made of; each opens its own appeals.
  const COMPONENTS = [["figure_name", "指标", String], ["value", "比率", percent],
    ["weight", "权重", number], ["share", "权重占比", percent], ["points", "得分贡献", score],
    ["numerator", "分子", number], ["denominator", "分母", number]];

  function appealTables(parts, columns) {
    const element = document.getElementById("parts");
    element.innerHTML = "";
    for (const part of parts) {
      const heading = document.createElement("h2"), list = document.createElement("table");
      heading.textContent = `${part.name} = ${part.total} (${part.appeals.length} 件工单)`;
      list.className = "table table-sm table-bordered appeals";
      list.dataset.part = part.part;
      table(list, columns, part.appeals);
      const wrap = document.createElement("div");
      wrap.className = "table-responsive";
      wrap.append(list);
      element.append(heading, wrap);
    }
  }

  function notes(lines) {
    const element = document.getElementById("notes");
    element.innerHTML = lines.map((line) => `<li>${escape(line)}</li>`).join("");
    element.hidden = !lines.length;
  }

  async function explain() {
    const query = new URLSearchParams(location.search);
    const analysis = query.has("table");
    try {
      const data = await (await call((analysis ? "/analysis/explain?" : "/indicators/explain?") + query)).json();
      label(data.synthetic_label);
      document.getElementById("meta").textContent = `统计期间 ${data.period.start} 至 ${data.period.end} (按受理日期) · 数据截至 ${minute(data.as_of)}`;
      notes(data.notes || []);
      if (analysis) {
        document.getElementById("title").textContent = `${data.table_name} · ${data.title}: ${data.value} 件`;
        appealTables(data.parts, TABLE_APPEALS);
        return;
      }
      const value = data.figure.endsWith("_rate") ? percent(data.value) : data.figure === "score" ? score(data.value) : number(data.value);
      document.getElementById("title").textContent = `${data.unit_name} · ${data.figure_name}: ${value}`;
      const components = document.getElementById("components");
      components.hidden = !data.components;
      if (data.components) {
        const rows = data.components.map((component) => ({...component,
          ...Object.fromEntries(component.parts.map((part) => [part.part, part.total]))}));
        table(components, COMPONENTS, rows, (row, key) => key === "figure_name" ? "/assessment/explain?" +
          new URLSearchParams({...Object.fromEntries(query), figure: row.figure}).toString() : null);
      }
      appealTables(data.parts, APPEALS);
    } catch (error) { document.getElementById("message").textContent = error.message; }
  }


  document.addEventListener("DOMContentLoaded", () => {
    if (document.getElementById("assessment-overview")) overview();
    const sheet = document.getElementById("bulletin");
    if (sheet) bulletin(sheet.dataset.month);
    if (document.getElementById("assessment-explain")) explain();
  });
})();
