// Lays out a BPMN file that has no diagram yet (bpmn-auto-layout), so that Camunda Modeler
// opens it and bpmnlint accepts it. Designers then refine the layout in Modeler.
//   node layout.mjs new_process.bpmn ../../bpmn/new_process.bpmn
import { readFileSync, writeFileSync } from 'node:fs';
import { layoutProcess } from 'bpmn-auto-layout';

const [source, target] = process.argv.slice(2);
writeFileSync(target, await layoutProcess(readFileSync(source, 'utf8')));
