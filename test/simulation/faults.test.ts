// The fault scenarios of `npm run simulate -- --faults`, short: each faulted janitor world runs in lockstep with a
// fault-free one; nothing live or recently pinned may fail to pull, the first clean run must converge (a re-plan adds,
// removes and installs nothing) and the faulted world must store exactly the fault-free world's images soon after.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { FAULT_SCENARIOS, type FaultScenarioName, type FaultScenarioOptions, type FaultScenarioResult, runFaultScenario } from '../../scripts/simulation/faults.js';

// 14 days, 10 builds a day per account, pin grace 3 days so a pin lapses (and its protection goes) inside the run.
const SHORT: FaultScenarioOptions = { days: 14, buildsPerDay: 10, pinGraceDays: 3, retryMode: 'standard' };

let restoreRandom: () => void;

// Each scenario runs once; the checks that look closer at one reuse its result.
const runs = new Map<FaultScenarioName, Promise<FaultScenarioResult>>();
function scenario(name: FaultScenarioName): Promise<FaultScenarioResult> {
  if (!runs.has(name)) runs.set(name, runFaultScenario(name, SHORT));
  return runs.get(name)!;
}

beforeAll(() => {
  // The SDK backs off random x base x 2^attempt: pinned to 0 the retries happen, the waiting does not.
  const spy = vi.spyOn(Math, 'random').mockReturnValue(0);
  restoreRandom = () => spy.mockRestore();
});

afterAll(() => restoreRandom());

describe('fault scenarios (14 days, 10 builds a day per account)', () => {
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

