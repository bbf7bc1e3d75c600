/*
 * 宿事速办: the appeal's number, title, completion deadline and overdue mark on each task card,
 * as the task filter's `properties.variables` name them (deploy/tasklist_filters.py).
 *
 * Tasklist's own card plugin reads those variables with a variable query that needs READ on
 * the process instance, which no unit holds: a unit reads an appeal only through its own tasks
 * (tests/test_authorization_matrix.py). This card asks the task for the same variables
 * (GET /task/{id}/form-variables), which the unit may read.
 */
import {inZh} from '../../suban/language.js';

const ISO_TIME = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})/;
const columnsOfFilter = new Map();

function currentFilterId() {
  return new URLSearchParams(window.location.hash.split('?')[1] || '').get('filter');
}

function getJson(url) {
  return fetch(url, {headers: {Accept: 'application/json'}, credentials: 'same-origin'})
    .then(response => (response.ok ? response.json() : null));
}

function filterColumns(engineApi, filterId) {
  if (!columnsOfFilter.has(filterId)) {
    columnsOfFilter.set(filterId, getJson(`${engineApi}/filter/${filterId}`)
      .then(filter => (filter && filter.properties.variables) || []));
  }
  return columnsOfFilter.get(filterId);
}

// Deadlines are ISO strings in Beijing time (+08:00): shown as YYYY-MM-DD HH:mm.
function shown(value) {
  if (value === true) return {text: inZh('是', 'yes'), className: 'suban-overdue'};
  if (value === false) return {text: inZh('否', 'no'), className: ''};
  const time = ISO_TIME.exec(String(value));
  return {text: time ? `${time[1]} ${time[2]}` : String(value), className: ''};
}

async function render(node, {taskId, api}) {
  const filterId = currentFilterId();
  if (!filterId) return;
  const columns = await filterColumns(api.engineApi, filterId);
  if (!columns.length) return;
  const names = columns.map(column => column.name).join(',');
  const variables = await getJson(
    `${api.engineApi}/task/${taskId}/form-variables?variableNames=${encodeURIComponent(names)}`);
  if (!variables) return;
  const list = document.createElement('dl');
  list.className = 'suban-appeal-columns';
  for (const column of columns) {
    if (!(column.name in variables) || variables[column.name].value === null) continue;
    const value = shown(variables[column.name].value);
    const label = document.createElement('dt');
    label.textContent = column.label;
    const text = document.createElement('dd');
    text.textContent = value.text;
    text.className = value.className;
    list.append(label, text);
  }
  node.replaceChildren(list);
}

export default {
  id: 'suban-appeal-columns',
  pluginPoint: 'tasklist.card',
  priority: 300,
  render: (node, data) => {
    render(node, data);
  }
};
