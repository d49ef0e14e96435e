// Skip what did not change, end to end: change marks kept in memory (the S3 adapter has its own test), ECR image
// events delivered through the real event path, and runs wired as the Lambda wires them (changeMarks set).
import type { ChangeMarksPort } from '../../lambda/app/run-janitor.js';
import { runJanitor } from '../../lambda/app/run-janitor.js';
import { type EventResult, protectOnEvent } from '../../lambda/app/protect-on-event.js';
import { parseChangeMark, parseUseEvent } from '../../lambda/domain/events.js';
import type { JanitorConfig } from '../../lambda/domain/types.js';
import type { RunReport } from '../../lambda/app/report-types.js';
import type { JanitorWorld } from './emulator-janitor.js';

export const ACCOUNT = '000000000000';
export const REGION = 'us-east-1';

/** Change marks in a map: `unreadable` makes every read throw, as an S3 error would. */
export interface MemoryChangeMarks extends ChangeMarksPort {
  marks: Map<string, number>;
  unreadable: string | undefined;
  writes: number;
}

export function memoryChangeMarks(): MemoryChangeMarks {
  const port: MemoryChangeMarks = {
    marks: new Map(),
    unreadable: undefined,
    writes: 0,
    async latest(repository) {
      if (port.unreadable !== undefined) throw Object.assign(new Error(port.unreadable), { name: 'AccessDenied' });
      return port.marks.get(repository) ?? null;
    },
    async record(repository, time) {
      const current = port.marks.get(repository);
      if (current !== undefined && current >= time) return;
      port.marks.set(repository, time);
      port.writes += 1;
    },
  };
  return port;
}

/** "ECR Image Action" as the ECR user guide ("Amazon ECR events and EventBridge") shows it, at `time`. */
export function ecrImageEvent(action: 'PUSH' | 'DELETE', repository: string, digest: string, time: number, tag?: string) {
  return {
    version: '0',
    id: `${action}-${digest.slice(7, 15)}-${time}`,
    'detail-type': 'ECR Image Action',
    source: 'aws.ecr',
    account: ACCOUNT,
    time: new Date(time).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: REGION,
    resources: [],
    detail: { result: 'SUCCESS', 'repository-name': repository, 'image-digest': digest, 'action-type': action, ...(tag !== undefined ? { 'image-tag': tag } : {}) },
  };
}

/** One nightly run as the Lambda wires it: change marks on, mode run. */
export function markedRun(world: JanitorWorld, config: JanitorConfig, marks: ChangeMarksPort): Promise<RunReport> {
  return runJanitor(
    { registry: world.newRegistry(), pinSources: [world.ecs, world.lambda], stateStore: world.stateStore, clock: world.clock, log: world.log, changeMarks: marks },
    { config, mode: 'run', retainImageDecisions: false },
  );
}

/** Delivers an EventBridge event to the event path, as the handler does. */
export function deliver(world: JanitorWorld, config: JanitorConfig, marks: ChangeMarksPort, event: unknown): Promise<EventResult> {
  const use = parseUseEvent(event);
  if (!use) throw new Error('not a use event');
  const changeMark = parseChangeMark(event);
  return protectOnEvent(
    { registry: world.newRegistry(), stateStore: world.stateStore, clock: world.clock, log: world.log, registryAddress: { accountId: ACCOUNT, region: REGION }, changeMarks: marks },
    { config, ...(changeMark ? { changeMark } : {}) },
    use,
  );
}

/** DescribeImages calls one run made (all repositories). */
export function describeCalls(report: RunReport): number {
  return report.apiCalls.DescribeImages ?? 0;
}
