// Judges form submissions the way Tasklist does: with form-js 1.8.7, the renderer of
// Camunda 7.24's Tasklist. Reads {"schema": <form>, "submissions": [<data>, ...]} on stdin and
// prints, per submission, the keys form-js refuses with its messages.
require('./headless-dom.cjs');

const { Form } = require('@bpmn-io/form-js-viewer');

async function judge(schema, data) {
  const container = document.createElement('div');
  document.body.appendChild(container);
  const form = new Form({ container });
  await form.importSchema(schema, data);
  // Fields register while the form renders: give it time before submitting.
  await new Promise((resolve) => setTimeout(resolve, 50));
  const { errors } = form.submit();
  form.destroy();
  container.remove();
  const byKey = {};
  for (const [id, messages] of Object.entries(errors)) {
    const component = schema.components.find((c) => c.id === id);
    byKey[component ? component.key : id] = messages;
  }
  return byKey;
}

let input = '';
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', async () => {
  const { schema, submissions } = JSON.parse(input);
  const results = [];
  for (const data of submissions) results.push(await judge(schema, data));
  process.stdout.write(JSON.stringify(results));
});
