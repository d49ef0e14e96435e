// The seed workload: what one team's CI does to one account's ECR, a day at a time. Used by the demo and the simulation.
// Per build: a multi-arch buildx index with provenance/SBOM attestations, tagged ci-<n> and main, and a new registry
// cache manifest under :buildcache (the previous one is left untagged). Every few days the newest build is promoted by
// re-tag (v1.<n>) and signed (an OCI 1.1 referrer); deployments pin a release by digest and move every few days.
import { BatchGetImageCommand, CreateRepositoryCommand, type ECRClient, PutImageCommand, RepositoryAlreadyExistsException } from '@aws-sdk/client-ecr';
import { OCI_INDEX, pushBuildxBuild, pushCacheManifest, pushReferrer, SIGSTORE_BUNDLE, type BuildxBuildResult } from './workload.js';

const HOUR = 3_600_000;

export interface SeedWorkloadOptions {
  /** Distinguishes accounts: manifests (and so digests) differ per seed. */
  seed: string;
  repositories: string[];
  /** Builds per day, over all repositories. */
  buildsPerDay: number;
  releaseEveryDays: number;
  deployEveryDays: number;
  layerBytes: number;
  cacheBytes: number;
  /** Moves the registry's clock: builds are spread over the working day. */
  setTime(ms: number): void;
}

interface Release {
  tag: string;
  build: BuildxBuildResult;
  day: number;
}

export interface LiveImage {
  repository: string;
  digest: string;
  why: string;
}

export interface DaySummary {
  builds: number;
  releases: string[];
  deployments: string[];
}

export class SeedWorkload {
  /** Images (manifests) pushed so far: platform images, attestations, indexes, cache manifests, signatures. */
  imagesPushed = 0;
  private buildNumber = 0;
  private readonly latest = new Map<string, BuildxBuildResult>();
  private readonly cache = new Map<string, string>();
  private readonly releases = new Map<string, Release[]>();
  private readonly deployed = new Map<string, Release>();

  constructor(
    private readonly client: ECRClient,
    private readonly options: SeedWorkloadOptions,
  ) {}

  async createRepositories(): Promise<void> {
    for (const repositoryName of this.options.repositories) {
      try {
        await this.client.send(new CreateRepositoryCommand({ repositoryName }));
      } catch (error) {
        if (!(error instanceof RepositoryAlreadyExistsException)) throw error;
      }
    }
  }

  /** Pushes one day of CI (day 0 starts at `startOfDay`), then promotes and deploys when their day comes. */
  async runDay(day: number, startOfDay: number): Promise<DaySummary> {
    const { repositories, buildsPerDay } = this.options;
    const summary: DaySummary = { builds: 0, releases: [], deployments: [] };
    for (let i = 0; i < buildsPerDay; i++) {
      this.options.setTime(startOfDay + 8 * HOUR + Math.floor((i * 10 * HOUR) / buildsPerDay));
      await this.build(repositories[i % repositories.length]!);
      summary.builds += 1;
    }
    this.options.setTime(startOfDay + 19 * HOUR);
    if (day % this.options.releaseEveryDays === this.options.releaseEveryDays - 1) {
      for (const repository of repositories) summary.releases.push(`${repository}:${await this.release(repository, day)}`);
    }
    if (day % this.options.deployEveryDays === this.options.deployEveryDays - 1) {
      for (const repository of repositories) {
        const newest = this.releases.get(repository)?.at(-1);
        if (!newest) continue;
        this.deployed.set(repository, newest);
        summary.deployments.push(`${repository}@${newest.build.indexDigest.slice(0, 19)} (${newest.tag})`);
      }
    }
    return summary;
  }

  /** What the deployments run, by digest: what an ECS pin source would report. */
  pins(): { repository: string; digest: string; source: string }[] {
    return [...this.deployed].map(([repository, release]) => ({ repository, digest: release.build.indexDigest, source: `ecs:prod/${repository}` }));
  }

  /** What must always resolve: deployed digests, releases and their signatures, the current main and buildcache. */
  liveImages(): LiveImage[] {
    const live: LiveImage[] = [];
    for (const repository of this.options.repositories) {
      const deployed = this.deployed.get(repository);
      if (deployed) live.push({ repository, digest: deployed.build.indexDigest, why: `deployed by digest (${deployed.tag})` });
      for (const release of this.releases.get(repository) ?? []) live.push({ repository, digest: release.build.indexDigest, why: `release ${release.tag}` });
      const main = this.latest.get(repository);
      if (main) live.push({ repository, digest: main.indexDigest, why: 'main' });
      const cache = this.cache.get(repository);
      if (cache) live.push({ repository, digest: cache, why: 'current buildcache' });
    }
    return live;
  }

  /** Pulls every live image (and each platform child of an index) as a client would; returns what failed. */
  async unresolvable(): Promise<LiveImage[]> {
    const failed: LiveImage[] = [];
    for (const image of this.liveImages()) {
      const manifests = await this.pull(image.repository, [image.digest]);
      const text = manifests.get(image.digest);
      if (text === undefined) {
        failed.push(image);
        continue;
      }
      const children = (JSON.parse(text) as { manifests?: { digest: string }[] }).manifests?.map((m) => m.digest) ?? [];
      if (children.length === 0) continue;
      const pulled = await this.pull(image.repository, children);
      for (const child of children) if (!pulled.has(child)) failed.push({ ...image, digest: child, why: `child of ${image.why}` });
    }
    return failed;
  }

  private async pull(repositoryName: string, digests: string[]): Promise<Map<string, string>> {
    const out = await this.client.send(new BatchGetImageCommand({ repositoryName, imageIds: digests.map((imageDigest) => ({ imageDigest })) }));
    return new Map((out.images ?? []).map((i) => [i.imageId?.imageDigest ?? '', i.imageManifest ?? '']));
  }

  private async build(repository: string): Promise<void> {
    const n = ++this.buildNumber;
    const seed = `${this.options.seed}/${repository}/${n}`;
    const build = await pushBuildxBuild(this.client, repository, { tags: [`ci-${n}`, 'main'], seed, layerBytes: this.options.layerBytes });
    this.latest.set(repository, build);
    this.imagesPushed += build.childDigests.length + build.attestationDigests.length + 2;
    const cache = await pushCacheManifest(this.client, repository, { tag: 'buildcache', seed, bytes: this.options.cacheBytes });
    this.cache.set(repository, cache.digest);
  }

  private async release(repository: string, day: number): Promise<string> {
    const build = this.latest.get(repository);
    if (!build) throw new Error(`no build of ${repository} to release`);
    const list = this.releases.get(repository) ?? [];
    const tag = `v1.${list.length}`;
    // Promotion by re-tag: the same index bytes under a new tag.
    const index = await this.pull(repository, [build.indexDigest]);
    const text = index.get(build.indexDigest);
    if (text === undefined) throw new Error(`${repository}@${build.indexDigest} vanished before its release`);
    await this.client.send(new PutImageCommand({ repositoryName: repository, imageManifest: text, imageManifestMediaType: OCI_INDEX, imageTag: tag }));
    await pushReferrer(this.client, repository, {
      subjectDigest: build.indexDigest,
      subjectMediaType: OCI_INDEX,
      subjectSize: Buffer.byteLength(text),
      artifactType: SIGSTORE_BUNDLE,
      seed: `${this.options.seed}/${repository}/${tag}`,
    });
    this.imagesPushed += 1;
    list.push({ tag, build, day });
    this.releases.set(repository, list);
    return tag;
  }
}
