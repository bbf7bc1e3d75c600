// Lays out a BPMN file that has no diagram yet (bpmn-auto-layout), so that Camunda Modeler
// opens it and bpmnlint accepts it. Designers then refine the layout in Modeler.
//   node layout.mjs new_process.bpmn ../../bpmn/new_process.bpmn
// bpmn-auto-layout puts the boundary events of one activity 1/3 of a width apart, so two
// events on a 100 px task overlap; they are spread evenly along the activity's edge instead.
import { readFileSync, writeFileSync } from 'node:fs';
import { layoutProcess } from 'bpmn-auto-layout';
import { BpmnModdle } from 'bpmn-moddle';
import camunda from 'camunda-bpmn-moddle/resources/camunda.json' with { type: 'json' };

const EVENT_SIZE = 36;
const EVENT_GAP = 8;

function spreadBoundaryEvents(definitions) {
  for (const diagram of definitions.diagrams) {
    const shapes = new Map();
    const edges = [];
    for (const element of diagram.plane.planeElement) {
      if (element.$type === 'bpmndi:BPMNShape') shapes.set(element.bpmnElement.id, element);
      if (element.$type === 'bpmndi:BPMNEdge') edges.push(element);
    }
    const byHost = new Map();
    for (const [id, shape] of shapes) {
      const host = shape.bpmnElement.attachedToRef;
      if (!host) continue;
      if (!byHost.has(host.id)) byHost.set(host.id, []);
      byHost.get(host.id).push(shape);
    }
    for (const [hostId, events] of byHost) {
      const host = shapes.get(hostId).bounds;
      const spacing = Math.max(host.width / events.length, EVENT_SIZE + EVENT_GAP);
      const firstCentre = host.x + host.width / 2 - (spacing * (events.length - 1)) / 2;
      events.forEach((shape, index) => {
        const x = firstCentre + spacing * index - EVENT_SIZE / 2;
        const dx = x - shape.bounds.x;
        shape.bounds.x = x;
        for (const edge of edges) {
          if (edge.bpmnElement.sourceRef?.id === shape.bpmnElement.id) edge.waypoint[0].x += dx;
        }
      });
    }
  }
}

const [source, target] = process.argv.slice(2);
const moddle = new BpmnModdle({ camunda });
const { rootElement } = await moddle.fromXML(await layoutProcess(readFileSync(source, 'utf8')));
spreadBoundaryEvents(rootElement);
const { xml } = await moddle.toXML(rootElement, { format: true });
writeFileSync(target, xml);
