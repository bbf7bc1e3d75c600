// Checks element template files with the official validator, the one Camunda Modeler uses,
// against the Camunda 7 schema. Prints one line per problem; exits 1 when there is any.
//   node validate-element-templates.mjs FILE.json...
import { readFileSync } from 'node:fs';
import { validateAll } from '@bpmn-io/element-templates-validator';

let problems = 0;
for (const file of process.argv.slice(2)) {
  let templates;
  try {
    templates = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    console.log(`${file}: not valid JSON: ${error.message}`);
    problems++;
    continue;
  }
  const { results } = validateAll(Array.isArray(templates) ? templates : [ templates ]);
  results.forEach(({ object, errors }, index) => {
    // The schema's root is "one template or a list": its oneOf/type errors only echo the others.
    const own = (errors || []).filter((error) => !(error.instancePath === '' &&
      [ 'oneOf', 'type' ].includes(error.keyword)));
    for (const error of own) {
      console.log(`${file}: template [${index}] ${object && object.id}: ${error.instancePath || '/'}: ${error.message}`);
      problems++;
    }
  });
}
process.exitCode = problems ? 1 : 0;
