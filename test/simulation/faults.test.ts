// The fault scenarios of `npm run simulate -- --faults`, short (sizes below): each faulted janitor world runs in
// lockstep with a fault-free one; nothing live or recently pinned may fail to pull, the first clean run must converge
// (a re-plan adds, removes and installs nothing) and the faulted world must store exactly the fault-free world's
// images soon after.
import { describe, expect, it } from 'vitest';
import { zeroDelayRetries } from '../support/retries.js';
import { FAULT_SCENARIOS, type FaultScenarioName, type FaultScenarioOptions, type FaultScenarioResult, runFaultScenario } from '../../scripts/simulation/faults.js';

// Short: 11 days, 3 builds a day per account, pin grace 3 days so a pin lapses (and its protection goes) inside the run;
// the fault nights fall after the first janitor run, with its policy installed and pins protected. Partial deletes needs
// a lapsed pin's protection tag to remove and crash before policy a night with tags to add before the policy: both
// only happen in 14 days (with 11 neither injects anything, and the assertions below fail). The 20-day scenarios at
// the full build rate run in `npm run simulate -- --faults` (.ci/run). The janitor's SDK retries are the SDK's own
// (8 attempts, same retry decisions) without the backoff waits.
const SHORT: FaultScenarioOptions = { days: 11, buildsPerDay: 3, pinGraceDays: 3, retryMode: () => zeroDelayRetries(8) };
const LONGER: Partial<Record<FaultScenarioName, FaultScenarioOptions>> = {
  'partial-deletes': { ...SHORT, days: 14 },
  'crash-before-policy': { ...SHORT, days: 14 },
};

// Each scenario runs once; the checks that look closer at one reuse its result.
const runs = new Map<FaultScenarioName, Promise<FaultScenarioResult>>();
function scenario(name: FaultScenarioName): Promise<FaultScenarioResult> {
  if (!runs.has(name)) runs.set(name, runFaultScenario(name, LONGER[name] ?? SHORT));
  return runs.get(name)!;
}

describe('fault scenarios (11 or 14 days, 3 builds a day per account)', () => {
  it.each(FAULT_SCENARIOS)('%s: nothing live lost, the next run converges', async (name) => {
    // Act
    const result = await scenario(name);

    // Assess
    expect(result.problems).toEqual([]);
    expect(result.faultNights.length).toBeGreaterThan(0);
    expect(result.injected.length).toBeGreaterThan(0);
    expect(result.failedPulls).toBe(0);
    expect(result.convergence).toMatchObject({ runOk: true, replanClean: true });
    expect(result.sameImagesFromDay).toBeDefined();
    expect(result.ok).toBe(true);
  });

  it('partial deletes: the repository whose protection tag ECR refused to remove fails, and the tag goes the next night', async () => {
    // Act
    const result = await scenario('partial-deletes');

    // Assess
    expect(result.faultedRuns.some((run) => /: failed .*ImageInaccessible keep-sha256-/.test(run))).toBe(true);
    expect(result.convergence?.day).toBe(result.faultNights.at(-1)! + 1);
  });

  it('crash before policy: the repositories fail after their protection tags went in, and the next run installs the policy', async () => {
    // Act
    const result = await scenario('crash-before-policy');

    // Assess
    expect(result.faultedRuns.every((run) => /: failed .*SimulatedCrash/.test(run) && /tags \+[1-9]/.test(run))).toBe(true);
    expect(result.convergence?.day).toBe(result.faultNights[0]! + 1);
  });

  it('tag moved in flight: CI racing the first run (ECR preview vs a stale plan) is absorbed, not reported as a failure', async () => {
    // Act
    const result = await scenario('tag-moved-in-flight');

    // Assess
    expect(result.injected.some((line) => line.includes('new release tag'))).toBe(true);
    expect(result.injected.some((line) => line.includes('the deployment moved'))).toBe(true);
    expect(result.faultedRuns.every((run) => /: ok;/.test(run))).toBe(true);
    expect(result.faultedRuns.some((run) => run.includes('policy installed'))).toBe(true);
  });

  it('read failures on night 2: every repository fails with its policy put on hold, and the next night resumes (issue 9)', async () => {
    // Act
    const result = await scenario('read-failures');

    // Assess
    expect(result.faultedRuns.length).toBeGreaterThan(0);
    expect(result.faultedRuns.every((run) => /: failed .*policy held/.test(run))).toBe(true);
    expect(result.failedPulls).toBe(0);
    expect(result.convergence?.day).toBe(result.faultNights[0]! + 1);
  });

  it('lost state: every repository runs ok and nothing live is lost; the stored images match the reference once the grace is over', async () => {
    // Act
    const result = await scenario('lost-state');

    // Assess
    expect(result.faultedRuns.every((run) => /: ok;/.test(run))).toBe(true);
    expect(result.failedPulls).toBe(0);
    expect(result.sameImagesFromDay).toBeDefined();
  });

  it('corrupt state: every repository is blocked that night (nothing written but a hold), nothing live is lost, the next night runs ok', async () => {
    // Act
    const result = await scenario('corrupt-state');

    // Assess
    expect(result.faultedRuns.every((run) => /: blocked \(run state unreadable/.test(run) && /tags \+0 -0/.test(run))).toBe(true);
    expect(result.failedPulls).toBe(0);
    expect(result.convergence).toMatchObject({ day: result.faultNights[0]! + 1, runOk: true, replanClean: true });
  });
});

