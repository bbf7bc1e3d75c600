// Checks Camunda Forms for the Camunda 7.24 Tasklist. Prints one line per problem; exits 1 when
// there is any.   node lint-forms.mjs FILE.form...
//
// 1. The form declares Camunda Platform 7.24 and a schemaVersion Tasklist's form-js can read.
// 2. @camunda/form-linting, the linter of Camunda Modeler, with the rules for form-js 1.8.7 (the
//    renderer of the 7.24 Tasklist). Its latest release knows Camunda 7 only up to 7.22, and for a
//    version it does not know it checks nothing; 7.19–7.22 all map to form-js 1.8.7, so the form
//    is linted as a 7.22 form. Its rule discourage-disabled-fields is left out (the linter has no
//    configuration, so the `disabled` flags are removed from the copy it sees): our display
//    fields are disabled on purpose, because form-js 1.8.7 leaves disabled fields out of the
//    submitted data, while read-only ones would be written back as process variables.
// 3. form-js-viewer 1.8.7 itself imports the form (refuses e.g. components it does not have).
import { readFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';

register('./extensionless-imports.mjs', import.meta.url);
const require = createRequire(import.meta.url);
require('./headless-dom.cjs');
const { Form, schemaVersion: TASKLIST_SCHEMA_VERSION } = require('@bpmn-io/form-js-viewer');
const { FormLinter } = await import('@camunda/form-linting');

const PLATFORM = 'Camunda Platform';
const PLATFORM_VERSION = /^7\.24\./;
const LINTED_AS = '7.22.0'; // form-linting's newest Camunda 7 version, form-js 1.8.7 like 7.24

async function problemsOf(schema) {
  const problems = [];
  if (schema.executionPlatform !== PLATFORM || !PLATFORM_VERSION.test(schema.executionPlatformVersion || '')) {
    problems.push(`executionPlatform: "${schema.executionPlatform} ${schema.executionPlatformVersion}", ` +
      `expected "${PLATFORM}" 7.24.x`);
  }
  if (!(schema.schemaVersion <= TASKLIST_SCHEMA_VERSION)) {
    problems.push(`schemaVersion: ${schema.schemaVersion}, Tasklist's form-js reads up to ${TASKLIST_SCHEMA_VERSION}`);
  }
  const withoutDisabled = JSON.parse(JSON.stringify(schema,
    (key, value) => (key === 'disabled' ? undefined : value)));
  const reports = new FormLinter().lint({ ...withoutDisabled, executionPlatform: PLATFORM,
    executionPlatformVersion: LINTED_AS });
  for (const { id, message, category } of reports) {
    if (category === 'info') continue; // e.g. "no submit button": Tasklist has its own
    problems.push(`${id || '(form)'}: ${category}: ${message.replace(
      `Camunda Platform ${LINTED_AS.slice(0, 4)}`, 'the 7.24 Tasklist (form-js 1.8.7)')}`);
  }
  const container = document.createElement('div');
  const form = new Form({ container });
  try {
    await form.importSchema(schema);
  } catch (error) {
    problems.push(`form-js 1.8.7 import: ${error.message}`);
  } finally {
    form.destroy();
  }
  return problems;
}

let count = 0;
for (const file of process.argv.slice(2)) {
  let problems;
  try {
    problems = await problemsOf(JSON.parse(readFileSync(file, 'utf8')));
  } catch (error) {
    problems = [ `not a readable form: ${error.message}` ];
  }
  for (const problem of problems) console.log(`${file}: ${problem}`);
  count += problems.length;
}
process.exitCode = count ? 1 : 0;
