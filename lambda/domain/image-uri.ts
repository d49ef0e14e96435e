// ECR image URIs as deployments write them: `<account>.dkr.ecr.<region>.amazonaws.com/<repo>[:tag][@sha256:...]`.
// Pin sources only count references to the janitor's own registry; everything else is somebody else's image.
import { SHA256_DIGEST } from './digest.js';
import type { Digest, PinReference } from './types.js';

export interface RegistryAddress {
  accountId: string;
  region: string;
}

export interface EcrImageUri extends RegistryAddress {
  repository: string;
  tag?: string;
  digest?: Digest;
}

// Commercial, China, FIPS and dual-stack ECR hosts.
const ECR_HOST = /^(\d{12})\.dkr[.-]ecr(?:-fips)?\.([a-z0-9-]+)\.(?:amazonaws\.com(?:\.cn)?|on\.aws)$/;
const REPOSITORY = /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
export const DIGEST = SHA256_DIGEST;

/** The parts of an ECR image URI, or undefined when `uri` is not one (Docker Hub, another registry, garbage). */
export function parseEcrImageUri(uri: string): EcrImageUri | undefined {
  const text = uri.trim();
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const host = ECR_HOST.exec(text.slice(0, slash).toLowerCase());
  if (!host) return undefined;

  let path = text.slice(slash + 1);
  let digest: string | undefined;
  const at = path.indexOf('@');
  if (at >= 0) {
    digest = path.slice(at + 1);
    path = path.slice(0, at);
    if (!DIGEST.test(digest)) return undefined;
  }
  let tag: string | undefined;
  const colon = path.lastIndexOf(':');
  if (colon >= 0) {
    tag = path.slice(colon + 1);
    path = path.slice(0, colon);
    if (!TAG.test(tag)) return undefined;
  }
  if (!REPOSITORY.test(path)) return undefined;
  return {
    accountId: host[1]!,
    region: host[2]!,
    repository: path,
    // Docker's rule: a reference with neither tag nor digest means `latest`.
    ...(tag === undefined && digest === undefined ? { tag: 'latest' } : {}),
    ...(tag !== undefined ? { tag } : {}),
    ...(digest !== undefined ? { digest } : {}),
  };
}

/** A pin for `uri` when it names an image in `registry`; undefined for any other image. */
export function pinFromImageUri(uri: string, registry: RegistryAddress, source: string): PinReference | undefined {
  const parsed = parseEcrImageUri(uri);
  if (!parsed || parsed.accountId !== registry.accountId || parsed.region !== registry.region) return undefined;
  return {
    repository: parsed.repository,
    ...(parsed.tag !== undefined ? { tag: parsed.tag } : {}),
    ...(parsed.digest !== undefined ? { digest: parsed.digest } : {}),
    source,
  };
}
