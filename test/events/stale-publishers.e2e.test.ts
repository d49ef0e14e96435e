// Issue 10 point 2: "a publisher that stops reporting is never forgotten: its last pins stay protected and the report
// names it as stale". The nightly run against the emulator with an organization pins source: the stale publisher is
// in the run report (stalePins), the warn log, the EMF totals (StalePinPublishers) and the CLI text report.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatReport } from '../../cli/format.js';
import { pushSingleImage } from '../../emulator/workload.js';
import { createEmfMetricsSink } from '../../lambda/adapters/metrics-emf.js';
import { createDirectoryOrgPinStore, createOrgPinSource, ORG_PINS_STALE_AFTER_MS, publishOrgPins } from '../../lambda/adapters/pins-org.js';
import { runJanitor } from '../../lambda/app/run-janitor.js';
import { DAY, decisionOf, janitorConfig, SMALL, T0, useJanitorWorld } from '../support/emulator-janitor.js';
import { ACCOUNT, REGION } from './support.js';

const REGISTRY = { accountId: ACCOUNT, region: REGION };
const PUBLISHER = { accountId: '222222222222', region: 'eu-west-1' };

describe('a stale organization pins publisher in the run report', () => {
  const world = useJanitorWorld({ repositories: ['app'] });
  let dir = '';
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stale-publishers-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function nightlyRun() {
    const emf: string[] = [];
    const source = createOrgPinSource(createDirectoryOrgPinStore(dir), REGISTRY, { now: world.clock.now });
    const report = await runJanitor(
      { registry: world.newRegistry(), pinSources: [source], stateStore: world.stateStore, clock: world.clock, log: world.log, metrics: createEmfMetricsSink((line) => emf.push(line)) },
      { config: janitorConfig({ untaggedExpireDays: 1 }), mode: 'run' },
    );
    const totals = JSON.parse(emf[0]!) as Record<string, unknown>;
    return { report, totals };
  }

  it('names a publisher silent for more than 50 hours, and still protects its last pins', async () => {
    // Prepare
    const image = await pushSingleImage(world.client, 'app', { tags: [], seed: 'used-by-b', bytes: SMALL });
    await publishOrgPins(createDirectoryOrgPinStore(dir), PUBLISHER, [{ registry: REGISTRY, repository: 'app', digest: image.digest, source: 'ecs:prod/api' }], T0);
    world.emulator.setClock(T0 + ORG_PINS_STALE_AFTER_MS + DAY);

    // Act
    const { report, totals } = await nightlyRun();

    // Assess
    expect(report.stalePins).toEqual([{ publisher: '222222222222/eu-west-1', lastPublishedAt: T0 }]);
    expect(decisionOf(report, 'app', image.digest).decision).toBe('protect');
    expect(totals.StalePinPublishers).toBe(1);
    expect(world.logs.filter((l) => l.level === 'warn' && /1 publisher\(s\) stopped publishing \(222222222222\/eu-west-1 since 2026-01-01T00:00:00\.000Z\)/.test(l.message))).toHaveLength(1);
    expect(formatReport(report, { pricePerGbMonth: 0.1 })).toContain(
      'STALE org pins publisher 222222222222/eu-west-1: last published 2026-01-01T00:00:00.000Z; its last pins stay protected',
    );
  });

  it('names no publisher that published within 50 hours', async () => {
    // Prepare
    const image = await pushSingleImage(world.client, 'app', { tags: [], seed: 'used-by-b', bytes: SMALL });
    await publishOrgPins(createDirectoryOrgPinStore(dir), PUBLISHER, [{ registry: REGISTRY, repository: 'app', digest: image.digest, source: 'ecs:prod/api' }], T0);
    world.emulator.setClock(T0 + ORG_PINS_STALE_AFTER_MS - 1);

    // Act
    const { report, totals } = await nightlyRun();

    // Assess
    expect(report.stalePins).toBeUndefined();
    expect(totals.StalePinPublishers).toBe(0);
    expect(formatReport(report, { pricePerGbMonth: 0.1 })).not.toContain('STALE');
    expect(world.logs.some((l) => /stopped publishing/.test(l.message))).toBe(false);
  });
});
