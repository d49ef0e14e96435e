// Every RegistryPort operation of the ECR adapter, driven against the emulator with ECR's API contract checked on each
// request (emulator/contract.ts: required members, lengths, patterns, enums, ranges from the service model and the
// Amazon ECR API Reference). The adapter must never send a request ECR would refuse for its shape: the emulator's
// contract-violation counter stays 0. Run under both profiles, since the pessimistic one makes the adapter poll.
import { BatchDeleteImageCommand, CreateRepositoryCommand, DescribeImagesCommand } from '@aws-sdk/client-ecr';
import { describe, expect, it } from 'vitest';
import { ACCEPTED_MANIFEST_MEDIA_TYPES, createEcrRegistry } from '../../lambda/adapters/ecr-registry.js';
import { protectionTagFor } from '../../lambda/domain/patterns.js';
import { IN_TOTO, OCI_INDEX, pushBuildxBuild, pushReferrer } from '../../emulator/workload.js';
import { makeEmulatorClient } from '../../emulator/server.js';
import { useEmulator } from '../support/emulator-fixture.js';

const T0 = Date.UTC(2026, 0, 1);
const POLICY = JSON.stringify({
  rules: [
    { rulePriority: 1, description: 'protect pinned', selection: { tagStatus: 'tagged', tagPatternList: ['keep-*'], countType: 'imageCountMoreThan', countNumber: 9999 }, action: { type: 'expire' } },
    { rulePriority: 2, selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 3 }, action: { type: 'expire' } },
  ],
});

describe.each(['pessimistic', 'faithful'] as const)('the ECR adapter against the contract (%s profile)', (profile) => {
  const fixture = useEmulator({ now: T0, profile });

  it('sends only requests that satisfy ECR’s service model, through every RegistryPort operation', async () => {
    // Prepare
    const { emulator, client } = fixture;
    await client.send(new CreateRepositoryCommand({ repositoryName: 'team/api', tags: [{ Key: 'ecr-janitor', Value: 'skip' }] }));
    const build = await pushBuildxBuild(client, 'app', { tags: ['v1'], seed: 'contract', layerBytes: 1_000 });
    const referrer = await pushReferrer(client, 'app', { subjectDigest: build.indexDigest, subjectMediaType: OCI_INDEX, subjectSize: 500, artifactType: IN_TOTO, seed: 'sbom' });
    emulator.setClock(T0 + 10 * 86_400_000);
    const adapterClient = makeEmulatorClient(emulator.endpoint);
    const registry = createEcrRegistry(adapterClient, { sleep: async () => {}, previewPollMs: 0 });
    const before = emulator.stats().contractViolations;

    // Act
    const registryId = await registry.registryId();
    const repositories = await registry.listRepositories();
    const tags = await registry.repositoryTags('team/api');
    const images = await registry.describeImages('app');
    const manifests = await registry.getManifests('app', [build.indexDigest, ...build.childDigests]);
    const noPolicy = await registry.getLifecyclePolicy('app');
    const preview = await registry.previewLifecyclePolicy('app', POLICY);
    await registry.putLifecyclePolicy('app', POLICY);
    const installed = await registry.getLifecyclePolicy('app');
    const index = manifests.manifests[build.indexDigest]!;
    await registry.putTag('app', build.indexDigest, index, protectionTagFor(build.indexDigest));
    await registry.putTag('app', build.indexDigest, index, protectionTagFor(build.indexDigest));
    const removed = await registry.deleteTags('app', [{ digest: build.indexDigest, tag: protectionTagFor(build.indexDigest) }]);
    const referrers = await registry.listImageReferrers('app', build.indexDigest);
    const counts = registry.callCounts();
    adapterClient.destroy();

    // Assess
    expect(emulator.contractViolations()).toEqual([]);
    expect(emulator.stats().contractViolations - before).toBe(0);
    expect(registryId).toBe('000000000000');
    expect(repositories.sort()).toEqual(['app', 'team/api']);
    expect(tags).toEqual({ 'ecr-janitor': 'skip' });
    expect(images.map((i) => i.digest).sort()).toEqual([build.indexDigest, ...build.childDigests, ...build.attestationDigests, referrer.digest].sort());
    expect(Object.keys(manifests.manifests).sort()).toEqual([build.indexDigest, ...build.childDigests].sort());
    expect(noPolicy).toBeNull();
    expect(preview.expiring.map((e) => e.digest)).not.toContain(build.indexDigest);
    expect(JSON.parse(installed!)).toEqual(JSON.parse(POLICY));
    expect(removed).toEqual({ deleted: [{ digest: build.indexDigest, tag: protectionTagFor(build.indexDigest) }], failures: [] });
    expect(referrers.map((r) => r.digest)).toEqual([referrer.digest]);
    for (const operation of ['DescribeImages', 'BatchGetImage', 'StartLifecyclePolicyPreview', 'GetLifecyclePolicyPreview', 'PutLifecyclePolicy', 'PutImage', 'BatchDeleteImage', 'ListImageReferrers', 'ListTagsForResource']) {
      expect(counts[operation], operation).toBeGreaterThan(0);
    }
  });

  it('the same emulator refuses, and counts, a request that breaks the contract (the check is live)', async () => {
    // Prepare
    const { emulator, client } = fixture;
    const before = emulator.stats().contractViolations;

    // Act
    const tooMany = await client
      .send(new BatchDeleteImageCommand({ repositoryName: 'app', imageIds: Array.from({ length: 101 }, (_, i) => ({ imageTag: `t-${i}` })) }))
      .catch((error: unknown) => error);
    const badStatus = await client.send(new DescribeImagesCommand({ repositoryName: 'app', filter: { tagStatus: 'SOME' as 'ANY' } })).catch((error: unknown) => error);

    // Assess
    expect((tooMany as Error).name).toBe('InvalidParameterException');
    expect((badStatus as Error).name).toBe('InvalidParameterException');
    expect(emulator.stats().contractViolations - before).toBe(2);
    expect(ACCEPTED_MANIFEST_MEDIA_TYPES.length).toBeLessThanOrEqual(100);
  });
});
