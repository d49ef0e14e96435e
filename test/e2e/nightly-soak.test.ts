// Three weeks of nights against the emulator: CI pushes multi-arch builds (with attestations and a signature referrer),
// cache exports and PR images every day; deployments pin builds that lag behind and move on. Every night the janitor
// runs, then ECR's lifecycle. Invariants hold every night: no run fails, nothing in use or in grace is lost, every
// listed image resolves, and the repository does not grow without bound.
import { describe, expect, it } from 'vitest';
import type { PinReference } from '../../lambda/domain/types.js';
import {
  NOTARY_SIGNATURE,
  OCI_INDEX,
  pushBuildxBuild,
  pushCacheManifest,
  pushReferrer,
  pushSingleImage,
  type BuildxBuildResult,
} from '../../emulator/workload.js';
import { janitorConfig, SMALL, useJanitorWorld } from '../support/emulator-janitor.js';

const world = useJanitorWorld({ repositories: ['app'] });

const NIGHTS = 21;
const GRACE_DAYS = 7;

interface Build extends BuildxBuildResult {
  signature: string;
}

describe('nightly soak', () => {
  it(`keeps every invariant over ${NIGHTS} nights of pushes, deployments and lifecycle runs`, async () => {
    // Prepare
    const config = janitorConfig({ ciTags: [{ pattern: 'pr-*', keep: 5 }], pinGraceDays: GRACE_DAYS });
    const builds: Build[] = [];
    /** digest -> last night a deployment pinned it */
    const pinnedOn = new Map<string, number>();
    let images = 0;

    for (let night = 0; night < NIGHTS; night++) {
      // The day's pushes: a main build signed after the push, a cache export, two PR images.
      const build = await pushBuildxBuild(world.client, 'app', { tags: ['main'], seed: `main-${night}`, layerBytes: SMALL });
      const signature = await pushReferrer(world.client, 'app', {
        subjectDigest: build.indexDigest,
        subjectMediaType: OCI_INDEX,
        subjectSize: 1_024,
        artifactType: NOTARY_SIGNATURE,
        seed: `sig-${night}`,
      });
      builds.push({ ...build, signature: signature.digest });
      await pushCacheManifest(world.client, 'app', { tag: 'buildcache', seed: `cache-${night}`, bytes: SMALL });
      for (const n of [0, 1]) await pushSingleImage(world.client, 'app', { tags: [`pr-${night}-${n}`], seed: `pr-${night}-${n}`, bytes: SMALL });

      // Deployments: ECS runs the index of the build 3 nights back (moving every 4 nights); a Lambda function runs
      // one platform image of the first build until night 10, then stops.
      const references: PinReference[] = [];
      const ecsBuild = builds[Math.max(0, night - 3 - (night % 4))]!;
      references.push({ repository: 'app', digest: ecsBuild.indexDigest, source: 'ecs:prod/api' });
      if (night <= 10) references.push({ repository: 'app', digest: builds[0]!.childDigests[1]!, source: 'lambda:worker' });
      world.ecs.references = references;
      for (const ref of references) pinnedOn.set(ref.digest!, night);

      // Act
      world.emulator.advanceDays(0.5);
      const report = await world.run(config);
      world.emulator.advanceDays(0.5);
      world.emulator.runLifecycle();

      // Assess
      expect(report.repositories.map((r) => [r.status, r.error, r.actions.failures])).toEqual([['ok', undefined, []]]);
      const left = await world.imagesOf('app');
      const mustStay = new Set<string>();
      for (const [digest, lastPinned] of pinnedOn) if (night - lastPinned < GRACE_DAYS) mustStay.add(digest);
      for (const b of builds) {
        if (mustStay.has(b.indexDigest) || b === build) for (const d of [b.indexDigest, ...b.childDigests, ...b.attestationDigests, b.signature]) mustStay.add(d);
      }
      const lost = [...mustStay].filter((digest) => !left.has(digest));
      expect(lost, `night ${night}`).toEqual([]);
      expect(await world.unresolvable('app'), `night ${night}`).toEqual([]);
      images = left.size;
    }

    // Bounded: the current build (6 with its signature), the ECS build, the cache, 5 PR images, and what is still
    // within untagged expiry or pin grace; far below the 21 x 9 pushed.
    const last = builds.at(-1)!;
    const left = await world.imagesOf('app');
    expect(left.get(last.indexDigest)).toEqual(['main']);
    expect([...left.values()].filter((tags) => tags.some((t) => t.startsWith('pr-')))).toHaveLength(5);
    expect([...left.values()].filter((tags) => tags.includes('buildcache'))).toHaveLength(1);
    expect(left.has(builds[0]!.childDigests[1]!)).toBe(false); // the Lambda pin lapsed after its grace
    expect(images).toBeLessThan(60);
  });
});
