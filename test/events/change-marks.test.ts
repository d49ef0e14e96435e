// ECR push and delete events mark a repository changed (domain/events.ts parseChangeMark, app/protect-on-event.ts),
// so the nightly run reads it whole. Event shapes: "Amazon ECR events and EventBridge" (ECR user guide, ECR Image
// Action with action-type PUSH or DELETE).
import { describe, expect, it } from 'vitest';
import { protectOnEvent } from '../../lambda/app/protect-on-event.js';
import { parseConfig } from '../../lambda/domain/config.js';
import { parseChangeMark, parseUseEvent } from '../../lambda/domain/events.js';
import { protectionTagFor } from '../../lambda/domain/patterns.js';
import { memoryChangeMarks } from '../support/change-marks.js';
import { ACCOUNT, ecrPushEvent, ecsTaskEvent, REGION } from './support.js';

const DIGEST = `sha256:${'ab'.repeat(32)}`;
const AT = Date.parse('2026-01-02T14:00:00Z');
const config = parseConfig({ repositories: { include: ['app', 'web'] }, pins: { ecs: false, lambda: false } }, 'test');

const deleted = (repository: string) => ({ ...ecrPushEvent(repository, DIGEST, 'v1'), detail: { ...ecrPushEvent(repository, DIGEST, 'v1').detail, 'action-type': 'DELETE' } });

function eventDeps(marks = memoryChangeMarks()) {
  const refuse = async () => {
    throw new Error('no registry call expected');
  };
  return {
    marks,
    deps: {
      registry: { getManifests: refuse, putTag: refuse, repositoryTags: refuse, describeImages: refuse },
      stateStore: { load: refuse, save: refuse },
      clock: { now: () => AT + 3_600_000 },
      log: { info: () => {}, warn: () => {}, error: () => {} },
      registryAddress: { accountId: ACCOUNT, region: REGION },
      changeMarks: marks,
    },
  };
}

describe('parseChangeMark', () => {
  it('marks a tagged push, an untagged push and a delete with the event time and registry', () => {
    // Act
    const marks = [parseChangeMark(ecrPushEvent('app', DIGEST, 'v1')), parseChangeMark(ecrPushEvent('app', DIGEST)), parseChangeMark(deleted('app'))];

    // Assess
    for (const mark of marks) expect(mark).toEqual({ repository: 'app', registry: { accountId: ACCOUNT, region: REGION }, time: AT });
  });

  it("does not mark the janitor's own protection tag on its image, but marks that tag pushed onto another image", () => {
    // Act
    const own = parseChangeMark(ecrPushEvent('app', DIGEST, protectionTagFor(DIGEST)));
    const moved = parseChangeMark(ecrPushEvent('app', `sha256:${'cd'.repeat(32)}`, protectionTagFor(DIGEST)));

    // Assess
    expect(own).toBeUndefined();
    expect(moved).toMatchObject({ repository: 'app' });
  });

  it('is undefined for any other event, and leaves the time out when the event has none', () => {
    // Act
    const ecs = parseChangeMark(ecsTaskEvent([{ image: 'nginx' }]));
    const { time: _time, ...untimed } = ecrPushEvent('app', DIGEST, 'v1');

    // Assess
    expect(ecs).toBeUndefined();
    expect(parseChangeMark(untimed)).toEqual({ repository: 'app', registry: { accountId: ACCOUNT, region: REGION } });
  });
});

describe('the event path records change marks', () => {
  it('marks a delete in a managed repository of this registry, and a second delivery writes nothing', async () => {
    // Prepare
    const { deps, marks } = eventDeps();
    const event = deleted('app');

    // Act
    const first = await protectOnEvent(deps, { config, changeMark: parseChangeMark(event)! }, parseUseEvent(event)!);
    const again = await protectOnEvent(deps, { config, changeMark: parseChangeMark(event)! }, parseUseEvent(event)!);

    // Assess
    expect(first).toMatchObject({ failed: 0, changeMarked: { repository: 'app', time: AT } });
    expect(again.failed).toBe(0);
    expect(marks.marks.get('app')).toBe(AT);
    expect(marks.writes).toBe(1);
  });

  it("leaves another registry's and an unmanaged repository's marks alone, and uses its clock when the event has no time", async () => {
    // Prepare
    const { deps, marks } = eventDeps();
    const elsewhere = { ...deleted('app'), account: '111111111111' };
    const unmanaged = deleted('tools');
    const { time: _time, ...untimed } = deleted('web');

    // Act
    for (const event of [elsewhere, unmanaged, untimed]) await protectOnEvent(deps, { config, changeMark: parseChangeMark(event)! }, parseUseEvent(event)!);

    // Assess
    expect([...marks.marks.entries()]).toEqual([['web', AT + 3_600_000]]);
  });

  it('fails the event when the mark cannot be written, so EventBridge retries it', async () => {
    // Prepare
    const marks = memoryChangeMarks();
    marks.record = async () => {
      throw new Error('SlowDown: reduce your request rate');
    };
    const { deps } = eventDeps(marks);
    const event = deleted('app');

    // Act
    const result = await protectOnEvent(deps, { config, changeMark: parseChangeMark(event)! }, parseUseEvent(event)!);

    // Assess
    expect(result.failed).toBe(1);
    expect(result.changeMarked).toBeUndefined();
  });
});
